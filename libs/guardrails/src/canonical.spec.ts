import fc from 'fast-check';
import { canonicalForm, MAYBE_DIGIT_OR_AT } from './canonical';
import { anyText } from './testing/obfuscated';

const canonical = (text: string) => canonicalForm(text)?.text ?? text;
const shown = (text: string) => canonicalForm(text, 'shown')?.text ?? text;

describe('the canonical form the detectors read', () => {
  it('reads full-width and other compatibility forms as ASCII (NFKC), and the digits of every script as ASCII digits', () => {
    expect(canonical('card ４１１１１１１１１１１１１１１１')).toBe('card 4111111111111111');
    expect(canonical('ｊｏｈｎ．ｄｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ')).toBe('john.doe@example.com');
    expect(canonical('john﹫example.com')).toBe('john@example.com');
    expect(canonical('𝟒𝟏𝟏𝟏 ⁴¹¹¹ ①②')).toBe('4111 4111 12');
    expect(canonical('٤١١١ ४१११ ௪௧௧௧ ໔໑໑໑')).toBe('4111 4111 4111 4111');
    expect(canonical('ＩＢＡＮ ＤＥ８９')).toBe('IBAN DE89');
  });

  it('removes invisible characters: zero-width, joiners, bidi controls, soft hyphen, BOM, word joiner, other format and control characters', () => {
    for (const invisible of [
      '\u200b',
      '\u200c',
      '\u200d',
      '\u2060',
      '\ufeff',
      '\u00ad',
      '\u202e',
      '\u2066',
      '\u2069',
      '\u180e',
      '\u034f',
      '\u{e0041}',
      '\x00',
      '\x7f',
    ])
      expect(canonical(`4111${invisible}1111`)).toBe('41111111');
  });

  it('reads every kind of whitespace as one space, and every kind of dash as "-"', () => {
    for (const space of ['\u00a0', '\u2009', '\u202f', '\u2007', '\u3000', '\t', '\n', '\r\n', '\u2028', '\u0085', ' \n ', '\u00a0\u200b\u00a0'])
      expect(canonical(`4111${space}1111`)).toBe('4111 1111');
    for (const dash of ['\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\ufe63', '\uff0d', '\u2e3a'])
      expect(canonical(`DE89${dash}3704`)).toBe('DE89-3704');
  });

  it('decodes the HTML character references for "@", "." and the rest, and any numeric one', () => {
    expect(canonical('john.doe&#64;example.com')).toBe('john.doe@example.com');
    expect(canonical('john.doe&#x40;example&#46;com')).toBe('john.doe@example.com');
    expect(canonical('john.doe&commat;example&period;com')).toBe('john.doe@example.com');
    expect(canonical('&#52;&#49;&#x31;&#0049;&nbsp;1111')).toBe('4111 1111');
    // Not a reference, or not a character: left as written. `&amp;` is a reference (every name is, ADR 0035 addendum 2026-12-05).
    expect(canonical('R&D &amp; co &#0; &#x110000;')).toBe('R&D & co &#0; &#x110000;');
  });

  it('reads HTML as a browser shows it: inline tags and comments are nothing, tags that break a line or a block a space', () => {
    expect(shown('4111<b>1111</b>1111<span class="x">1111</span>')).toBe('4111111111111111');
    expect(shown('4111<!-- hidden -->1111 <I>1111</I> 1111')).toBe('41111111 1111 1111');
    // A comment is at most 4,096 characters; a longer one, or one never closed, is text (found apart from the token
    // pattern since 12,000 unclosed `<!--` each searched 4 KiB ahead: red team, 2026-12-07).
    expect(shown(`a<!--${'x'.repeat(4096)}-->b`)).toBe('ab');
    expect(shown(`a<!--${'x'.repeat(4097)}-->b`)).toBe(`a<!--${'x'.repeat(4097)}-->b`);
    expect(shown('4111<!--1111 <!-- x -->1111')).toBe('41111111');
    expect(shown('4111<!--1111')).toBe('4111<!--1111');
    expect(shown('<!---->1<!--->2-->3<!-->4')).toBe('13<!-->4');
    expect(shown(`${'<!--'.repeat(1000)} 1 -->2`)).toBe('2');
    // Of 3,000 openings, those more than 4,096 characters before the close are text, the first within it opens the comment.
    expect(shown(`${'<!--'.repeat(3000)} 1 -->2`)).toBe(`${'<!--'.repeat(1976)}2`);
    expect(shown('DE89<br>3704<p>0044</p><td>0532</TD>')).toBe('DE89 3704 0044 0532 ');
    expect(shown('jane.doe<wbr>@<u>example</u>.com')).toBe('jane.doe@example.com');
    // Not markup: a comparison, a lone bracket, the bracketed "at" and "dot" of a spelled-out address.
    expect(shown('if a < b and c > d, 3<4')).toBe('if a < b and c > d, 3<4');
    expect(shown('jane <at> example <dot> com')).toBe('jane@example.com');
    expect(shown('jane <AT> example <Dot> com')).toBe('jane@example.com');
  });

  it('reads markup as text in the text as sent (the default): an attribute holds what it holds', () => {
    expect(canonical('<a title="4111&#32;1111">x</a>')).toBe('<a title="4111 1111">x</a>');
    expect(canonicalForm('4111<b>1111</b>')).toBeUndefined();
  });

  it('maps each character of a text with markup back to the original, so that a mask covers the tags inside what it hides', () => {
    const text = 'x 4111<b>1111</b>1111';
    const mapped = canonicalForm(text, 'shown')!;
    expect(mapped.text).toBe('x 411111111111');
    const [from, to] = [mapped.lo[2], mapped.hi[mapped.text.length - 1]];
    expect(text.slice(from, to)).toBe('4111<b>1111</b>1111');
  });

  it('decodes JavaScript, JSON, C and percent escapes as the characters they stand for', () => {
    expect(canonical(String.raw`john.doe\u0040example.com`)).toBe('john.doe@example.com');
    expect(canonical(String.raw`john.doe\u{40}example\x2ecom`)).toBe('john.doe@example.com');
    expect(canonical('john.doe%40example%2Ecom')).toBe('john.doe@example.com');
    expect(canonical(String.raw`\u0034111%201111\x201111 1111`)).toBe('4111 1111 1111 1111');
    // Not an escape, or not a character: left as written.
    expect(canonical(String.raw`C:\users\xyz 50% \u00 %zz \u{110000} %00`)).toBe(String.raw`C:\users\xyz 50% \u00 %zz \u{110000} %00`);
  });

  it('writes e-mail addresses spelled out with "@" and "."', () => {
    expect(canonical('write to john.doe (at) example (dot) com')).toBe('write to john.doe@example.com');
    expect(canonical('john.doe [at] example [dot] com')).toBe('john.doe@example.com');
    expect(canonical('john.doe {AT} example{DOT}co{dot}uk')).toBe('john.doe@example.co.uk');
    expect(canonical('john dot doe at example dot com, thanks')).toBe('john.doe@example.com, thanks');
    expect(canonical('jane.doe at example.com')).toBe('jane.doe@example.com');
    expect(canonical('jane@example dot org')).toBe('jane@example.org');
  });

  it('leaves "at" and "dot" alone where they are words of a sentence', () => {
    for (const sentence of [
      'We met at the office at 10 and I put a dot on the map.',
      'look at the dot in the middle',
      'He got rich at the dot com boom',
      'meet me at noon dot then',
      'the docs are available at example.com',
      'see v1.2 at example.com',
    ])
      expect(canonicalForm(sentence)).toBeUndefined();
  });

  it('is no work for text that is already canonical: plain ASCII, letters of any script', () => {
    for (const text of ['late delivery', 'order 1234 5678, 2026-11-24, 480.00 EUR', 'Grüße aus München', 'Ελληνικά', 'ありがとう', 'naïve café …'])
      expect(canonicalForm(text)).toBeUndefined();
  });

  it('knows the original characters of every canonical character (property)', () => {
    const piece = fc.oneof(
      anyText(8),
      fc.constantFrom('４', '\u200b', '\u00a0', '\r\n', '\u2013', '&#64;', '&commat;', ' (at) ', ' dot ', 'e\u0301', '\u0332', '①', '㈱', 'ﬁ'),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join('');
        const mapped = canonicalForm(text);
        if (!mapped) return;
        const { lo, hi } = mapped;
        expect([lo.length, hi.length]).toEqual([mapped.text.length, mapped.text.length]);
        // Each within the text, none empty, in the order of the text.
        const wrong = lo.findIndex((l, i) => l < 0 || l >= hi[i] || hi[i] > text.length || (i > 0 && l < lo[i - 1]));
        expect(wrong).toBe(-1);
      }),
      { numRuns: 300 },
    );
  });

  it('takes every character that reads as a digit, an "@" or a letter of "at" for one that may hold regulated data', () => {
    const missed: string[] = [];
    for (let code = 0x80; code <= 0x10ffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const c = String.fromCodePoint(code);
      const letter = c.normalize('NFKC').toLowerCase();
      if (/[\d@]/.test(canonical(`x${c}x`)) && !MAYBE_DIGIT_OR_AT.test(c)) missed.push(code.toString(16));
      if (letter === 'a' && !MAYBE_DIGIT_OR_AT.test(`(${c}t)`)) missed.push(code.toString(16));
      if (letter === 't' && !MAYBE_DIGIT_OR_AT.test(`(a${c})`)) missed.push(code.toString(16));
    }
    expect(missed).toEqual([]);
    expect(['jane (at) example', 'jane（at）example', 'jane (a\u200bt) example', 'jane（ａｔ）example'].every((t) => MAYBE_DIGIT_OR_AT.test(t))).toBe(true);
    expect(['late delivery', 'Grüße aus München', 'what a cat'].some((t) => MAYBE_DIGIT_OR_AT.test(t))).toBe(false);
  });
});
