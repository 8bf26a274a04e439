import { shownJson } from './inbox.view';

describe('shownJson (a proposal value on the card)', () => {
  it('writes bidi controls and other invisible characters as visible code points, so the card reads as the target will', () => {
    const html = shownJson({ sql: "DELETE FROM orders WHERE created < '2020-01-01' \u202e\u2066OR 1=1\u2069\u2066 -- \u2069\u202c", note: 'a\u200bb' });
    expect(html).not.toMatch(/[\u200b\u202a-\u202e\u2066-\u2069]/);
    expect(html).toContain('&#39;2020-01-01&#39; <span class="hidden-char" title="an invisible character">U+202E</span>');
    expect(html.match(/U\+2066/g)).toHaveLength(2);
    expect(html).toContain('a<span class="hidden-char" title="an invisible character">U+200B</span>b');
  });

  it('escapes HTML and leaves visible text of any script as it is', () => {
    expect(shownJson({ body: '<script>x</script> שלום 👋' })).toBe('{\n  &#34;body&#34;: &#34;&#60;script&#62;x&#60;/script&#62; שלום 👋&#34;\n}');
  });
});
