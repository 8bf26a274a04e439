import { backtrackingRisk } from './regex-safety';

// real: the pattern's syntax tree (regjsparser) and JavaScript's own regular expressions; fake: nothing.
describe('backtrackingRisk: patterns that can take exponential time on a crafted text', () => {
  it.each([
    ['thanks,(?:[a-z ]+)*x', /`\[a-z \]\+` repeats inside `\(\?:\[a-z \]\+\)\*`/], // the red team's pattern (2026-12-04)
    ['(a+)+b', /`a\+` repeats inside `\(a\+\)\+`/],
    ['^(\\w+\\s?)*$', /`\\w\+` repeats inside/],
    ['(x{1,9})+', /`x\{1,9\}` repeats inside/],
    ['(a|a)*$', /alternatives that can begin with the same character \(`a` and `a` both begin with "A"\)/],
    ['(\\w|\\d)+', /`\\w` and `\\d` both begin with "0"/],
    ['(a|)*', /alternatives that can begin with the same character/], // an empty alternative: cannot be told, refused
    // Polynomial: unbounded repetitions one after the other that share a character (operator CLI probe, 2026-12-06).
    ['refund.*.*.*promise', /`\.\*` and `\.\*` repeat one after the other and can both match " "/],
    ['\\s*\\s*\\s*x', /`\\s\*` and `\\s\*` repeat one after the other/],
    ['[ a-z]*[ a-z]*[ a-z]*[0-9]', /`\[ a-z\]\*` and `\[ a-z\]\*` repeat one after the other/],
    ['\\s+(?:x)?\\s+', /`\\s\+` and `\\s\+` repeat one after the other/], // only an optional part between them
    // Polynomial too: what lies between them, the first can match as well (2026-12-07: 4.5 s and 6.8 s, below).
    ['a.*b.*c', /`\.\*` and `\.\*` repeat with only `b` between them, which the first can match too, and can both match " "/],
    ['refund.*because.*promise', /with only `because` between them/],
    ['\\bfoo\\b.*\\bbar\\b.*baz', /with only `bar` between them/], // the word boundaries match no text
    ['refund[^.]*because[^.]*promise', /`\[\^\.\]\*` and `\[\^\.\]\*` repeat with only `because` between them/],
    ['x\\w+(?:-|_)\\w+y', /with only `\(\?:-\|_\)` between them/], // one alternative of it is enough
    // Both bounded, exponential in the bounds (red team, 2026-12-07: 109 s on 61 characters; a home frozen 90 s).
    ['(?:a{1,25}){1,25}$', /`a\{1,25\}` repeats inside `\(\?:a\{1,25\}\)\{1,25\}`: bounded, but its rounds can split a text in up to 25\^25 ways/],
    ['(?:\\w{1,30}){1,30}!', /up to 30\^30 ways/],
    ['(?:[a-z]{1,5}){1,8}x', /up to 5\^8 ways/],
  ])('refuses %s, naming the part to rewrite', (pattern, named) => {
    expect(backtrackingRisk(pattern)).toMatch(named);
  });

  it.each([
    '^[a-z0-9][a-z0-9_-]{0,99}$',
    '^(/[a-z0-9_][a-z0-9._-]*)*$', // each segment begins with `/`, which the segment cannot match
    '^[a-z0-9][a-z0-9._-]*((\\+[a-z0-9._-]+)?@[a-z0-9-]+(\\.[a-z0-9-]+)+)?$',
    '(?:,\\s*\\w+)*',
    '([a-z]|[0-9])*',
    '(a|b)*c',
    '\\b([a-z][-._* ]){3,}[a-z]\\b',
    '#(.*/)?(main|master|release(/.*)?)$',
    '(?<![A-Za-z0-9])\\d{2}[ ./_-]?\\d{3}(?!\\d)',
    'refund.*promise',
    'refund[^.]{0,200}because[^.]{0,200}promise', // bounded: at most 200 × 200 ways at each start
    '[a-z.]*@[a-z.]*x', // `@`, between them, is a character the first cannot match: one way to split a run
    '\\d+\\s*%', // they share none
    '^[a-z0-9._-]*(/[a-z0-9_][a-z0-9._-]*)*$', // each round of the second begins with `/`, which the first cannot match
    '(?:[0-9]{1,3}){1,4}', // 3^4 ways at most
    '(?:[a-z0-9-]{1,63}\\.){1,8}[a-z]{2,24}', // each round ends with `.`, which a label cannot match
    '(?:\\d{4} ?){3,4}', // the inner part has one length
  ])('leaves %s alone', (pattern) => {
    expect(backtrackingRisk(pattern)).toBeUndefined();
  });
});

describe('backtrackingRisk: an unbounded repetition in a look-around tried at every place (red team, 2026-12-07)', () => {
  it.each([
    // The contract's own, before: `pw-` 16,000 times took 5–12 s to decide.
    ['\\b(pw|otp)\\b\\s*(?=[^\\s<]*[0-9!@#])[^\\s<.,;]{4,}', '[^\\s<]*'],
    ['(?!.*x)y', '.*'],
    ['^a+(?=.*b)', '.*'],
  ])('refuses %j, naming %j', (pattern, part) => {
    expect(backtrackingRisk(pattern)).toBe(
      `\`${part}\` repeats without bound inside a look-around the pattern tries at every place: it reads on to the end of a run each time, a crafted text's length squared (bound it, e.g. \`{0,64}\`)`,
    );
  });

  it.each([
    '\\b(pw|otp)\\b\\s*(?=[^\\s<]{0,64}[0-9!@#])[^\\s<.,;]{4,}',
    // Tried once: at the start, or where a character the repetition before cannot match pins it.
    '^report-(?!.*[-_][-_])(?!.*[-_]$)[a-z0-9][a-z0-9_-]*$',
    '^[a-z0-9][a-z0-9._:/-]*#(?!refs/)(?![a-z_]*head$)[a-z0-9_][a-z0-9._-]*$',
    // Bounded inside.
    "(?<!(can't|cannot) )\\brefund",
  ])('takes %j', (pattern) => {
    expect(backtrackingRisk(pattern)).toBeUndefined();
  });
});
