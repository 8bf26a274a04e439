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
  ])('leaves %s alone', (pattern) => {
    expect(backtrackingRisk(pattern)).toBeUndefined();
  });
});
