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
  ])('leaves %s alone', (pattern) => {
    expect(backtrackingRisk(pattern)).toBeUndefined();
  });
});
