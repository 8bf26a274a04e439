import { reviewItem } from '../review-item/review-item.suite';
import { inboxBody, shownJson, shownName, shownValues } from './inbox.view';

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

  it('marks a word that mixes Latin letters with another script, not text wholly in one (red team, 2026-12-07)', () => {
    const html = shownJson({ image: 'registry.acm\u0435.internal/checkout:2.4.1', note: 'Grüße aus München', greek: 'καλημέρα', mixed: 'p\u0430ypal' });
    expect(html).toContain('registry.acm\u0435<span class="hidden-char" title="letters of another script among Latin ones">U+0435</span>.internal/checkout');
    expect(html).toContain('p\u0430ypal<span class="hidden-char" title="letters of another script among Latin ones">U+0430</span>');
    expect(html).toContain('Grüße aus München&#34;');
    expect(html).toContain('καλημέρα&#34;');
    expect(html.match(/another script/g)).toHaveLength(2);
  });

  it('marks a word wholly of another script whose letters read as Latin ones, not words of that script that do not (red team, 2026-12-07)', () => {
    const html = shownJson({ body: 'Confirm at https://www.\u0440\u0430\u0443\u0440\u0430\u04cf.com/acme-login', ru: 'Спасибо за заказ' });
    expect(html).toContain(
      'www.\u0440\u0430\u0443\u0440\u0430\u04cf<span class="hidden-char" title="letters of another script that read as Latin ones">U+0440, U+0430, U+0443, U+04CF</span>.com',
    );
    expect(html).toContain('Спасибо за заказ&#34;');
    expect(html.match(/another script/g)).toHaveLength(1);
    // Cherokee with one letter no table folds, and Lisu: scripts drawn as Latin, marked whatever they fold to.
    const drawn = shownJson({ a: 'https://www.\u13e2\u13aa\u13bd\u13e2\u13aa\u13de.com', b: 'www.\ua4d1\ua4ee\ua4ec\ua4d1\ua4ee\ua4e1.com' });
    expect(drawn.match(/letters of another script that read as Latin ones/g)).toHaveLength(2);
  });

  it('shows a run of spaces inside a line by its length, and leaves the indentation as it is', () => {
    const html = shownJson({ sql: `DELETE FROM orders WHERE id = 42${' '.repeat(300)}OR 1=1` });
    expect(html).toContain('42<span class="hidden-char" title="a run of spaces">300 spaces</span>OR 1=1');
    expect(html.startsWith('{\n  &#34;sql&#34;')).toBe(true);
  });

  it('shows a run of other blanks by its length too: no-break, em and ideographic spaces, braille blanks (red team, 2026-12-06)', () => {
    for (const [blank, mark] of [
      ['\u00a0', 'U+00A0'],
      ['\u2003', 'U+2003'],
      ['\u3000', 'U+3000'],
      ['\u2800', 'U+2800'],
    ]) {
      const html = shownJson({ sql: `UPDATE orders SET status='shipped' WHERE id=1042;${blank.repeat(20_000)}UPDATE users SET role='admin';` });
      expect(html).toContain(`1042;<span class="hidden-char" title="a run of blank characters">20000 blanks (${mark})</span>UPDATE users`);
    }
    // Mixed with spaces, one run; a few no-break spaces in prose (French punctuation) stay as they are.
    expect(shownJson({ s: `a${' \u00a0'.repeat(6)}b` })).toContain(
      'a<span class="hidden-char" title="a run of blank characters">12 blanks (space, U+00A0)</span>b',
    );
    expect(shownJson({ s: 'Bonjour\u00a0! Merci\u202f?' })).toContain('Bonjour\u00a0! Merci\u202f?');
  });

  it('marks a key with characters outside ASCII by their code points: a look-alike key stands out (red team, 2026-12-06)', () => {
    const html = shownJson({ replicas: 3, 'r\u0440pli\u0441as': 0, nested: { 'ok-key': 1, 'cl\u00e9': 'caf\u00e9' } });
    expect(html).toContain('&#34;replicas&#34;: 3');
    expect(html).toContain('&#34;r\u0440pli\u0441as&#34;<span class="hidden-char" title="a key with characters outside ASCII">U+0440, U+0441</span>: 0');
    expect(html).toContain('&#34;cl\u00e9&#34;<span class="hidden-char" title="a key with characters outside ASCII">U+00E9</span>: &#34;caf\u00e9&#34;');
    // A value of any script is shown as it is, and a key with a quote in it is read whole.
    expect(html).not.toMatch(/caf\u00e9&#34;<span/);
    expect(shownJson({ 'a"\u0440': 1 })).toContain(
      '&#34;a\\&#34;\u0440&#34;<span class="hidden-char" title="a key with characters outside ASCII">U+0440</span>: 1',
    );
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

describe('shownName (a target, tenant, agent, model on the card and in the list)', () => {
  it('says a blank other than one space: a name pushed off the card by no-break spaces reads whole (red team, 2026-12-06)', () => {
    expect(shownName(`order-78${'\u00a0'.repeat(150)}and-order-99999`)).toBe(
      'order-78<span class="hidden-char" title="a run of blank characters">150 blanks (U+00A0)</span>and-order-99999',
    );
    expect(shownName('order\u00a078')).toBe('order<span class="hidden-char" title="a run of blank characters">1 blank (U+00A0)</span>78');
    expect(shownName('order  78')).toBe('order<span class="hidden-char" title="a run of spaces">2 spaces</span>78');
    expect(shownName('order 78')).toBe('order 78');
  });

  it('says a run of one filler character by its length: 170 underscores no longer read as an underline (red team, 2026-12-07)', () => {
    expect(shownName(`order-78${'_'.repeat(170)}99999`)).toBe('order-78<span class="hidden-char" title="a run of one character">170 × _</span>99999');
    expect(shownName('order-78_99999')).toBe('order-78_99999');
    expect(shownName('release-2026.12.07')).toBe('release-2026.12.07');
  });

  it('shows a name with right-to-left letters in its stored order: `acct א 0532 0130` no longer reads as `acct 0130 0532 א` (red team, 2026-12-06)', () => {
    expect(shownName('acct \u05d0 0532 0130')).toBe(
      '<bdo dir="ltr" class="stored-order" title="right-to-left letters: shown in the order they are stored">acct \u05d0 0532 0130</bdo>',
    );
    expect(shownName('<b>acme</b>')).toBe('&#60;b&#62;acme&#60;/b&#62;');
  });

  it('says every character outside ASCII in a name by its code point: a Cyrillic `о` in `оrder-78` (red team, 2026-12-07)', () => {
    expect(shownName('\u043erder-78')).toBe('\u043erder-78<span class="hidden-char" title="characters outside ASCII in a name">U+043E</span>');
    expect(shownName('order-78')).toBe('order-78');
    expect(shownName('münchen-\u0441\u0441')).toBe(
      'münchen-\u0441\u0441<span class="hidden-char" title="characters outside ASCII in a name">U+00FC, U+0441</span>',
    );
  });

  it('keeps the stored order of values on a page without the inbox stylesheet (the second reviews): the order is in the markup', () => {
    expect(shownValues({ limit: '\u05d0 100 , 5000000 \u05d1' }, 'params', 'Parameters')).toMatch(/<pre [^>]*><bdo dir="ltr">\{/);
  });
});

describe('the inbox filters', () => {
  const byAgent = (actionId: string, agentId: string, tenant: string) => {
    const item = reviewItem(actionId, '2026-12-07T10:00:00.000Z');
    return { ...item, proposal: { ...item.proposal, tenant, proposer: { ...item.proposal.proposer, agentId } } };
  };
  const firstPage = [byAgent('a1', 'support-copilot', 'acme'), byAgent('a2', 'ops-copilot', 'globex')];
  const menu = (html: string, id: string) =>
    [...new RegExp(`<select id="${id}"[^]*?</select>`).exec(html)![0].matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]);
  const suggestions = (html: string, id: string) =>
    [...new RegExp(`<datalist id="${id}-seen">[^]*?</datalist>`).exec(html)![0].matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]);

  it("offers every class and action type of the running contract, not only the first page's", () => {
    const choices = { slaClasses: ['critical', 'normal'], actionTypes: ['shell.exec', 'support.refund'] };
    const html = inboxBody({ items: firstPage, all: firstPage, filters: {}, choices });
    expect(menu(html, 'f-slaClass')).toEqual(['', 'critical', 'high', 'normal']);
    expect(menu(html, 'f-actionType')).toEqual(['', 'shell.exec', 'support.refund']);
    // Without the contract (a test of another feature): the first page's values.
    expect(menu(inboxBody({ items: firstPage, all: firstPage, filters: {} }), 'f-actionType')).toEqual(['', 'support.refund']);
  });

  it('takes a tenant and an agent as typed, the first page’s as suggestions, and shows the one in force', () => {
    const html = inboxBody({ items: [], all: firstPage, filters: { agentId: 'rogue-bot', tenant: 'initech' } });
    expect(suggestions(html, 'f-agentId')).toEqual(['ops-copilot', 'rogue-bot', 'support-copilot']);
    expect(suggestions(html, 'f-tenant')).toEqual(['acme', 'globex', 'initech']);
    expect(html).toMatch(/<input id="f-agentId" name="agentId" list="f-agentId-seen"[^>]*value="rogue-bot">/);
    expect(html).toMatch(/<label for="f-agentId">Agent<\/label>/);
  });

  it('escapes what it suggests and shows', () => {
    const html = inboxBody({ items: [], all: [byAgent('a3', '"><script>x</script>', 'acme')], filters: { tenant: '"><b>' } });
    expect(html).not.toContain('<script>x');
    expect(html).not.toContain('"><b>');
  });
});
