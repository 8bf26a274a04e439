import { canonicalForm, legacyReferenceNames, namedReferences } from './canonical';
import { maskText } from './masking';

const canonical = (text: string) => canonicalForm(text)?.text ?? text;
const shown = (text: string) => canonicalForm(text, 'shown')?.text ?? text;

// Red team, 2026-12-05: references a mail client decodes and the canonical form did not.
describe('HTML character references: the whole WHATWG table, any leading zeros (red team, 2026-12-05)', () => {
  it('holds the WHATWG table: 2,125 names, 106 of them legacy', () => {
    const table = namedReferences();
    expect(table.size).toBe(2125);
    expect(legacyReferenceNames().size).toBe(106);
    for (const name of legacyReferenceNames()) expect(table.has(name)).toBe(true);
    expect(Math.max(...[...legacyReferenceNames()].map((n) => n.length))).toBe(6);
    expect(table.get('thinsp')).toBe('\u2009');
    expect(table.get('ZeroWidthSpace')).toBe('\u200b');
    expect(table.get('NotEqualTilde')).toBe('\u2242\u0338');
    expect(table.get('Zscr')).toBe('\u{1d4b5}');
    expect(table.get('CounterClockwiseContourIntegral')).toBe('\u2233');
  });

  it("reads the red team's replies as a mail client shows them", () => {
    expect(
      shown(
        '<p>Your card 4111&thinsp;1111&thinsp;1111&thinsp;1111, IBAN DE89&thinsp;3704&thinsp;0044&thinsp;0532&thinsp;0130&thinsp;00, phone +49&thinsp;151&thinsp;2345&thinsp;6789. We&#39;ll re&shy;fund the order in full.</p>',
      ),
    ).toBe(" Your card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, phone +49 151 2345 6789. We'll refund the order in full. ");
    expect(canonical('We&apos;ll pay.')).toBe("We'll pay.");
    expect(canonical('We&rsquo;ll pay.')).toBe('We\u2019ll pay.');
    expect(shown("<p>We'll re&zwnj;fund your order.</p>")).toBe(" We'll refund your order. ");
    expect(canonical('We will p&aacute;y you.')).toBe('We will páy you.');
    expect(canonical('Contact jane.doe&#x0000040;example.com')).toBe('Contact jane.doe@example.com');
    expect(canonical('Your card 4111&ensp;1111&ensp;1111&ensp;1111 is on file.')).toBe('Your card 4111 1111 1111 1111 is on file.');
  });

  it('decodes every name of the table, in either reading', () => {
    for (const [name, value] of namedReferences()) {
      const read = canonical(`x&${name};y`);
      expect(read.startsWith('x') && read.endsWith('y') && !read.includes('&' + name)).toBe(true);
      expect(canonical(`x${value}y`)).toBe(read);
    }
  });

  it('decodes numeric references with any number of leading zeros, and U+0080–U+009F as windows-1252, as a browser does', () => {
    expect(canonical('jane&#0000000000064;example.com')).toBe('jane@example.com');
    expect(canonical('jane&#x00000000040;example.com &#X0040;')).toBe('jane@example.com @');
    expect(canonical('4111&#150;1111&#151;1111')).toBe('4111-1111-1111');
    expect(canonical('We&#146;ll')).toBe('We\u2019ll');
    // No character: as written.
    expect(canonical('&#0000; &#x110000;')).toBe('&#0000; &#x110000;');
  });

  it('reads a name without its `;` as a browser does (the legacy names, the longest first), and any other name too', () => {
    // A browser: the legacy names decode without `;`, even glued to a word.
    expect(canonical('a&nbsp;b &ampx &notit; &copy2026')).toBe('a b &x ¬it; ©2026');
    expect(canonical('4111&nbsp1111&nbsp1111&nbsp1111')).toBe('4111 1111 1111 1111');
    expect(shown('re&shyfund')).toBe('refund');
    // Beyond a browser, which shows these as written: a person or a lenient client reads the character named.
    expect(canonical('4111&thinsp1111&thinsp1111&thinsp1111')).toBe('4111 1111 1111 1111');
    expect(canonical('re&zwnjfund, We&rsquoll')).toBe('refund, We\u2019ll');
  });

  it('leaves an `&` that begins no name as it is', () => {
    for (const text of ['AT&T and Q&A, R&D, P&L, H&M', 'a &foo; b', 'x&;y &', '&#;', '&1234;']) expect(canonical(text)).toBe(text);
    expect(canonical('AT&T &nbsp; Q&A')).toBe('AT&T Q&A');
  });

  it('masks the whole reference with what it hides, and leaves the rest byte for byte', () => {
    const masked = maskText('Card 4111&thinsp;1111&ensp;1111&ZeroWidthSpace;1111 &amp; more');
    expect(masked).not.toMatch(/4111&thinsp|1111&ensp|&ZeroWidthSpace/);
    expect(masked).toMatch(/^Card \[card[^\]]*\] &amp; more$/);
    expect(maskText('Contact jane.doe&#x0000040;example.com')).not.toContain('jane.doe&#x0000040;');
  });
});
