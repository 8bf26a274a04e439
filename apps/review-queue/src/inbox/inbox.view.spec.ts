import { shownJson, shownValues } from './inbox.view';

describe('shownJson (a proposal value on the card)', () => {
  it('writes bidi controls and other invisible characters as visible code points, so the card reads as the target will', () => {
    const html = shownJson({ sql: "DELETE FROM orders WHERE created < '2020-01-01' \u202e\u2066OR 1=1\u2069\u2066 -- \u2069\u202c", note: 'a\u200bb' });
    expect(html).not.toMatch(/[\u200b\u202a-\u202e\u2066-\u2069]/);
    expect(html).toContain('&#39;2020-01-01&#39; <span class="hidden-char" title="an invisible character">U+202E</span>');
    expect(html.match(/U\+2066/g)).toHaveLength(2);
    expect(html).toContain('a<span class="hidden-char" title="an invisible character">U+200B</span>b');
  });

  it('marks what the other marks missed: tag characters, variation selectors, Hangul fillers, U+034F, line separators, C1 controls (red team, 2026-12-04)', () => {
    const html = shownJson({ 'image\u{E0020}': 'evil.example/backdoor', sql: 'SELECT 1 \u{E0044}\u{E0052} x\u2028y', key: 'a\ufe0fb\u3164c\u034fd\u0085e' });
    for (const mark of ['U+E0020', 'U+E0044', 'U+E0052', 'U+2028', 'U+FE0F', 'U+3164', 'U+034F', 'U+0085']) expect(html).toContain(`>${mark}</span>`);
    expect(html).not.toMatch(/[\u{E0000}-\u{E007F}\ufe0f\u3164\u034f\u2028\u0085]/u);
  });

  it('shows a run of spaces inside a line by its length, and leaves the indentation as it is', () => {
    const html = shownJson({ sql: `DELETE FROM orders WHERE id = 42${' '.repeat(300)}OR 1=1` });
    expect(html).toContain('42<span class="hidden-char" title="a run of spaces">300 spaces</span>OR 1=1');
    expect(html.startsWith('{\n  &#34;sql&#34;')).toBe(true);
  });

  it('shows values with right-to-left letters in their stored order, and says so', () => {
    const rtl = shownValues({ sql: 'UPDATE accounts SET limit = \u05d0 100 , 5000000 \u05d1 WHERE id = 7' }, 'params', 'Parameters');
    expect(rtl).toContain('class="params stored-order" dir="ltr"');
    expect(rtl).toContain('shown in the order they are stored');
    const plain = shownValues({ amount: 480 }, 'params', 'Parameters');
    expect(plain).toContain('class="params" dir="ltr"');
    expect(plain).not.toContain('stored-order');
  });

  it('escapes HTML and leaves visible text of any script as it is', () => {
    expect(shownJson({ body: '<script>x</script> שלום 👋' })).toBe('{\n  &#34;body&#34;: &#34;&#60;script&#62;x&#60;/script&#62; שלום 👋&#34;\n}');
  });
});
