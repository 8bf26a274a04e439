import fc from 'fast-check';
import { canonicalText, isAsciiOnly, shownText, visibleShownText } from './canonical';
import { readableText, visibleText } from '@countersign/guardrails';
import { compileCondition, Condition } from './conditions';

// Real: canonicalText and the compiled conditions; fake: nothing.
describe('canonicalText', () => {
  it.each([
    ['Email', 'email'],
    ['  EMAIL ', 'email'],
    ['\uff45\uff4d\uff41\uff49\uff4c', 'email'], // full-width
    ['e\u200bmail', 'email'], // zero-width space
    ['e\u00admail\ufeff', 'email'], // soft hyphen, BOM
    ['\u202eliame', 'liame'], // bidi override: removed, the letters stay as sent
    ['order\u2010500', 'order-500'], // Unicode hyphen
    ['order\u2013500', 'order-500'], // en dash
    ['order\u2212500', 'order-500'], // minus sign
    ['order\u2043500', 'order-500'], // hyphen bullet
    ['cust-9\u00a0', 'cust-9'], // no-break space
    ['a \u2003 b\n\tc', 'a b c'], // every run of white space is one space
    ['a  b', 'a b'],
    ['We\u2019ll', "we'll"], // right single quotation mark, as phones and word processors write the apostrophe
    ['we\u02bcll', "we'll"], // modifier letter apostrophe
    ['we`ll', "we'll"], // a grave accent typed for one
    ['Gr\u00fc\u00dfe', 'gru\u00dfe'], // letters keep their base: the marks go (ü is u), ß stays
    ['\u043ergder-500', 'orgder-500'], // a Cyrillic о
    ['\u0430cme', 'acme'], // a Cyrillic а
    ['\u0421UST-9', 'cust-9'], // a Cyrillic С, upper case
    ['\u03bfrder', 'order'], // a Greek ο
    ['\u0585rder-900', 'order-900'], // an Armenian օ (red team, 2026-12-04: a third refund on one order)
    ['\u1d0frder-900', 'order-900'], // a Latin small capital ᴏ, which NFKC keeps
    ['\u1d00\u1d04\u1d0d\u1d07', 'acme'], // small capitals throughout
    ['b\u0131ll', 'bill'], // a dotless ı
    ['\u041f\u0420\u0418\u0412\u0415\u0422', '\u043fp\u0438bet'], // Cyrillic text: only the letters drawn like Latin ones (upper case: Р В Е Т) change
    ['order-\u0665\u0660\u0660', 'order-500'], // Arabic-Indic digits (a red-team pass: a second per-order budget)
    ['order-\u06f5\u06f0\u06f0', 'order-500'], // Persian digits
    ['order-\u096b\u0966\u0966', 'order-500'], // Devanagari digits
    ['order-500\u0301', 'order-500'], // a combining acute accent
    ['cust-42\u0308\u0301', 'cust-42'], // two of them
    ['Caf\u00e9', 'cafe'], // precomposed é
    ['\u0130stanbul', 'istanbul'], // Turkish İ lower-cases to i and a combining dot
  ])('%j → %j', (raw, canonical) => {
    expect(canonicalText(raw)).toBe(canonical);
  });

  it('is idempotent', () => {
    for (const s of ['\uff2d\uff41\uff49\uff4e', 'a\u2003\u2003B', 'x\u2011y', '\u0130\u0301 \u0301', 'a \u0301', '\u1100\u1161\u11a8 \u0665'])
      expect(canonicalText(canonicalText(s))).toBe(canonicalText(s));
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), (s) => expect(canonicalText(canonicalText(s))).toBe(canonicalText(s))),
      { numRuns: 2000 },
    );
  });
});

describe('conditions compare text canonically', () => {
  const holds = (c: Condition, input: Record<string, unknown>) => compileCondition(c)(input);

  it('in: any element, in any spelling', () => {
    const pii: Condition = { field: 'fields', in: ['email', 'iban'] };
    for (const f of ['Email', ' IBAN', '\uff45\uff4d\uff41\uff49\uff4c', 'e\u200bmail']) expect(holds(pii, { fields: ['orders', f] })).toBe(true);
    expect(holds(pii, { fields: ['orders', 'revenue'] })).toBe(false);
  });

  it('allIn: every element on the list (an empty list is not), so its `not` catches anything else', () => {
    const listed: Condition = { field: 'fields', allIn: ['orders', 'revenue'] };
    expect(holds(listed, { fields: ['Orders', ' revenue'] })).toBe(true);
    expect(holds(listed, { fields: 'orders' })).toBe(true);
    expect(holds(listed, { fields: ['orders', 'email_address'] })).toBe(false);
    expect(holds(listed, { fields: [] })).toBe(false);
    expect(holds({ not: listed }, { fields: ['orders', 'customer.email'] })).toBe(true);
  });

  it('eq and ne on strings; other values as they are', () => {
    expect(holds({ field: 'tenant', eq: 'acme' }, { tenant: 'ACME\u00a0' })).toBe(true);
    expect(holds({ field: 'tenant', ne: 'acme' }, { tenant: ' Acme' })).toBe(false);
    expect(holds({ field: 'flag', eq: true }, { flag: 'true' })).toBe(false);
    expect(holds({ field: 'n', eq: 1 }, { n: 1 })).toBe(true);
  });

  it('matches: on the canonical text, case-insensitively', () => {
    const protectedBranch: Condition = { field: 'target', matches: '#(.*/)?(main|master)$' };
    for (const t of ['repo:a#Main', 'repo:a#MAIN ', 'repo:a#\uff4d\uff41\uff49\uff4e', 'repo:a#refs/heads/main', 'repo:a#ma\u200bin'])
      expect(holds(protectedBranch, { target: t })).toBe(true);
    expect(holds(protectedBranch, { target: 'repo:a#maintenance' })).toBe(false);
    // A pattern written in capitals still matches (the comparison ignores case, it does not only lower the value).
    expect(holds({ field: 'iban', matches: '^[A-Z]{2}[0-9]{2}' }, { iban: 'DE89 3704' })).toBe(true);
  });

  it('matches: also on the text as it is shown, so HTML markup and references hide no phrase (red team, 2026-12-02)', () => {
    const promise: Condition = { field: 'body', matches: '\\b(refund|we will pay)\\b' };
    for (const body of ['A <b>re</b>fund is on its way', 'A re&#102;und', 'A re<span class="x">fund</span>', 'we<!-- -->&nbsp;will pay', 'we <i>will</i> pay'])
      expect({ body, holds: holds(promise, { body }) }).toEqual({ body, holds: true });
    // A line break in HTML still separates words; markup that is not there is not invented.
    expect(holds(promise, { body: 'partial<br>refunds are not possible' })).toBe(false);
    expect(holds(promise, { body: 'we will<br>pay' })).toBe(true);
    expect(holds(promise, { body: 'if a < b then refunds > 0' })).toBe(false);
  });

  it('matches under not: both readings must match, so markup cannot dress a value up to pass an allow-list', () => {
    const unlisted: Condition = { not: { field: 'target', matches: '^[a-z0-9-]+#[a-z0-9/_-]+$' } };
    expect(holds(unlisted, { target: 'repo#feature/x' })).toBe(false);
    // Shown, `repo#feature&#47;x` reads `repo#feature/x`; as sent it does not match the list: it is not on it.
    for (const target of ['repo#feature&#47;x', 'repo#feat<b></b>ure', 'repo#<i>main</i>'])
      expect({ target, holds: holds(unlisted, { target }) }).toEqual({ target, holds: true });
    // Two nots are one yes: either reading matching makes it hold.
    expect(holds({ not: { not: { field: 'body', matches: 'refund' } } }, { body: 're<b>fund</b>' })).toBe(true);
    // One not, however deep: the rule it guards fires unless both readings match.
    expect(holds({ all: [{ not: { any: [{ field: 'body', matches: 'refund' }] } }] }, { body: 're<b>fund</b>' })).toBe(true);
    expect(holds({ all: [{ not: { any: [{ field: 'body', matches: 'refund' }] } }] }, { body: '<b>refund</b>' })).toBe(false);
  });

  it('matches reads an array element by element: any one holds it, and under not every one must match', () => {
    const wildcard: Condition = { field: 'perms', matches: '\\*' };
    expect(holds(wildcard, { perms: ['s3:GetObject', 'iam:*'] })).toBe(true);
    expect(holds(wildcard, { perms: ['s3:GetObject'] })).toBe(false);
    expect(holds(wildcard, { perms: [] })).toBe(false);
    const unlisted: Condition = { not: { field: 'perms', matches: '^s3:(get|list)' } };
    expect(holds(unlisted, { perms: ['s3:GetObject', 's3:ListBucket'] })).toBe(false);
    expect(holds(unlisted, { perms: ['s3:GetObject', 's3:DeleteBucket'] })).toBe(true);
    // An empty list, or an element that is no string, is not on the allow-list.
    expect(holds(unlisted, { perms: [] })).toBe(true);
    expect(holds(unlisted, { perms: ['s3:GetObject', 7] })).toBe(true);
  });

  it('under not, tests the text as sent too: a look-alike of an allowed value is not on the allow-list (red team, 2026-12-04)', () => {
    const unlistedDestination: Condition = { not: { field: 'destination', matches: '^(internal-dashboard|s3://countersign-internal(/[a-z0-9_-]+)*)$' } };
    expect(holds(unlistedDestination, { destination: 'internal-dashboard' })).toBe(false);
    // Case aside; white space around it is sent too, so it is not the listed value (red team, 2026-12-05).
    expect(holds(unlistedDestination, { destination: 'Internal-Dashboard' })).toBe(false);
    for (const destination of [' internal-dashboard', 'internal-dashboard\n', 'internal-dashboard\t'])
      expect(holds(unlistedDestination, { destination })).toBe(true);
    expect(holds({ not: { field: 'fields', allIn: ['orders'] } }, { fields: [' orders '] })).toBe(true);
    // A Cyrillic а, full-width slashes, a Unicode hyphen, a zero-width space: each folds to a listed value, none is one.
    for (const destination of ['internal-d\u0430shboard', 's3:\uff0f\uff0fcountersign-internal', 's3://countersign\u2010internal', 'internal-\u200bdashboard'])
      expect({ destination, holds: holds(unlistedDestination, { destination }) }).toEqual({ destination, holds: true });
    // The same for lists: allIn, in and eq under not.
    const unlistedFields: Condition = { not: { field: 'fields', allIn: ['orders', 'totals'] } };
    expect(holds(unlistedFields, { fields: ['orders', 'TOTALS'] })).toBe(false);
    expect(holds(unlistedFields, { fields: ['orders', '\uff54otals'] })).toBe(true);
    expect(holds({ not: { field: 'branch', in: ['main', 'release'] } }, { branch: 'm\u0430in' })).toBe(true);
    expect(holds({ not: { field: 'branch', eq: 'main' } }, { branch: 'main\u200b' })).toBe(true);
    expect(holds({ not: { field: 'branch', eq: 'main' } }, { branch: 'Main' })).toBe(false);
    // Where a match makes a rule fire (no not), the folded reading alone still catches look-alikes.
    expect(holds({ field: 'branch', eq: 'main' }, { branch: 'm\u0430in' })).toBe(true);
    expect(holds({ field: 'branch', in: ['main'] }, { branch: '\uff4dain' })).toBe(true);
  });
});

describe('the readings of a long text, made once for all the rules that read it (red team, 2026-12-07)', () => {
  it('gives each long text its own readings, the same as made afresh, however many texts came between', () => {
    const long = (i: number) => `Refund <b>${i}</b> <span hidden>secret</span> ${'раураӏ '.repeat(60)}${'*a'.repeat(100)} ${i}`;
    const texts = Array.from({ length: 7 }, (_, i) => long(i));
    for (let round = 0; round < 2; round++)
      for (const t of [...texts, ...texts.slice().reverse()]) {
        expect(t.length).toBeGreaterThan(256);
        expect(shownText(t)).toBe(canonicalText(readableText(t)!));
        expect(visibleShownText(t)).toBe(canonicalText(visibleText(t)!));
        expect(isAsciiOnly(t)).toBe(false);
        expect(canonicalText(t)).toMatch(new RegExp(`^refund <b>${t.match(/<b>(\d)/)![1]}</b> .* paypal paypal`));
      }
    const ascii = 'plain '.repeat(100);
    expect([isAsciiOnly(ascii), shownText(ascii), visibleShownText(ascii)]).toEqual([true, undefined, undefined]);
  });
});
