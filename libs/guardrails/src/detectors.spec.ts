import fc from 'fast-check';
import { cardNumberValid, findRegulatedData, regulatedKinds } from './detectors';
import { maskDeep, maskText } from './masking';
import { obfuscated, SECRETS as OBFUSCATABLE } from './testing/obfuscated';
import { hiddenRanges, visibleText } from './canonical';

/** Everything the detectors and the masking do with a text, as a request body. */
const readAll = (text: string) => (regulatedKinds({ body: text }), maskText(text));

/**
 * The time to read `text` whole (`readAll`), the faster of two runs after a warm-up on a short piece. A reading that
 * backtracks catastrophically takes seconds, or for ever, on such a text; one in linear time took at most 220 ms here
 * and about three times that on the slowest CI machine seen (2026-12-07: 595 ms against a bound of 500 ms, which that
 * run failed). The bound is 3 s: well above the slowest linear reading, well below a catastrophic one.
 */
const LINEAR_BOUND_MS = 3_000;
function timeToRead(text: string): number {
  readAll(text.slice(0, 200));
  let fastest = Infinity;
  for (let i = 0; i < 2; i += 1) {
    const started = performance.now();
    readAll(text);
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest;
}

const SECRETS = [
  '4111.1111.1111.1111',
  '5500 0055 5555 5559',
  '340000000000009',
  'de89370400440532013000',
  'GB82 WEST 1234 5698 7654 32',
  'jane.doe@example.org',
  '+49 30 1234567',
  '123-45-6789',
];

describe('detecting regulated data', () => {
  it('names the kind and the JSON pointer of each regulated value, never the value', () => {
    const proposal = {
      actionType: 'support.reply',
      target: 'ticket-1003',
      parameters: {
        body: 'Your card 4111.1111.1111.1111 was refunded to de89370400440532013000; questions to jane.doe@example.org or +49 30 1234567.',
        cards: [4111111111111111],
        'a/b': { ssn: '123-45-6789' },
      },
      context: { 'john@example.org': 'vip' },
    };
    const found = findRegulatedData(proposal);
    expect(found).toEqual(
      expect.arrayContaining([
        { kind: 'card', path: '/parameters/body' },
        { kind: 'iban', path: '/parameters/body' },
        { kind: 'email', path: '/parameters/body' },
        { kind: 'phone', path: '/parameters/body' },
        { kind: 'card', path: '/parameters/cards/0' },
        { kind: 'us-ssn', path: '/parameters/a~1b/ssn' },
        { kind: 'email', path: '/context/j***@[email]' },
      ]),
    );
    expect(found).toHaveLength(7);
    const json = JSON.stringify(found);
    for (const secret of ['4111', 'de8937', 'jane.doe', 'john@example.org', '1234567', '123-45-6789']) expect(json).not.toContain(secret);
  });

  it('applies the contract national-id patterns', () => {
    expect(findRegulatedData({ note: 'id XY-123456-Z' }, { nationalIds: [{ name: 'test-id', pattern: /\bXY-\d{6}-Z\b/g }] })).toEqual([
      { kind: 'test-id', path: '/note' },
    ]);
  });

  it('finds nothing in an ordinary proposal: order ids, amounts, dates, UUIDs, digests', () => {
    const proposal = {
      actionType: 'support.refund',
      target: 'order-77',
      parameters: { amount: 12.5, currency: 'EUR', reason: 'late delivery, promised 2026-11-24', orderId: 'order-77', placedAt: '2026-11-20T09:30:00.000Z' },
      proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' } },
      context: { ticket: '3f2a9c1b-1234-5678-9012-abcdef012345', digest: 'a'.repeat(64), epochMs: 1764000000000 },
    };
    expect(findRegulatedData(proposal)).toEqual([]);
  });

  it('never throws on deep input: what is too deep to scan is itself a finding (fail closed)', () => {
    let deep: unknown = 'plain';
    for (let i = 0; i < 50_000; i++) deep = [deep];
    expect(findRegulatedData(deep)).toEqual([{ kind: 'too-deep', path: `/${Array(200).fill('0').join('/')}` }]);
  });

  it("masks the card beside an address it keeps as written, and still finds that address (fast-check's counterexample, 2026-12-08)", () => {
    const v = { '4111.1111.1111.1111': { ' 4111.1111.1111.1111 !@0.AA': ' 4111.1111.1111.1111 ' } };
    const masked = maskDeep(v);
    expect(masked).toEqual({ '[card …1111]': { ' [card …1111] !@0.AA': ' [card …1111] ' } });
    expect(findRegulatedData(masked)).toEqual([{ kind: 'email', path: '/[card …1111]/ [card …1111] !@0.AA' }]);
  });

  it('card numbers come from a card network: millisecond timestamps and counters are not cards', () => {
    expect(cardNumberValid('4111111111111111')).toBe(true);
    expect(cardNumberValid('1764000000000')).toBe(false); // Luhn-valid, but a 13-digit card starts with 4
    expect(cardNumberValid('4222222222222')).toBe(true);
  });

  it('finds what masking hides, and masked data has nothing left to find (property)', () => {
    const text = fc.oneof(
      fc.string(),
      fc.constantFrom(...SECRETS),
      fc.tuple(fc.string(), fc.constantFrom(...SECRETS), fc.string()).map(([a, s, b]) => `${a} ${s} ${b}`),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        text,
        fc.integer(),
        fc.constant(4111111111111111),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(text, tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        const masked = maskDeep(v);
        // Nothing left that masking hides: masking again changes nothing. What is still found is an address masking
        // keeps as written by design (`maskable`: a local part that reads as code, `!@0.AA`): found, so reviewed, and
        // never a card, an IBAN or a phone number (a run of 2026-12-08 drew that one: the property had said "nothing").
        expect(maskDeep(masked)).toEqual(masked);
        expect(findRegulatedData(masked).filter((f) => f.kind !== 'email')).toEqual([]);
        if (findRegulatedData(v).length === 0) expect(masked).toEqual(v);
      }),
      { numRuns: 500 },
    );
  });

  it('names the same kinds without the paths (what a decision reads), also for deep input and custom ids (property)', () => {
    const kindsOf = (v: unknown, o = {}) => [...new Set(findRegulatedData(v, o).map((f) => f.kind))].sort();
    const custom = { nationalIds: [{ name: 'test-id', pattern: /\bXY-\d{6}-Z\b/g }] };
    let deep: unknown = 'jane@example.org';
    for (let i = 0; i < 300; i++) deep = [deep];
    for (const v of [{ a: 'x' }, deep, { note: 'id XY-123456-Z', 'mail@example.org': [4111111111111111] }, { digest: '+49 30 1234567' }])
      for (const o of [{}, custom]) expect(regulatedKinds(v, o)).toEqual(kindsOf(v, o));
    expect(regulatedKinds({ body: 'to jane.doe@example.org, card 4111 1111 1111 1111' })).toEqual(['card', 'email']);
    const text = fc.oneof(fc.string(), fc.constantFrom(...SECRETS));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, text, fc.integer(), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(text, tie('node'), { maxKeys: 3 })),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect(regulatedKinds(v)).toEqual(kindsOf(v));
      }),
      { numRuns: 300 },
    );
  });
});

// Forms that slipped past the detectors (red team, 2026-12-01), and their class.
const DODGES: Array<[string, string]> = [
  ['card ４１１１１１１１１１１１１１１１', 'card'],
  ['card 4111\u00a01111\u00a01111\u00a01111', 'card'],
  ['card 4111\u200b1111\u200b1111\u200b1111', 'card'],
  ['card 4111 1111\n1111 1111', 'card'],
  ['IBAN DE89-3704-0044-0532-0130-00', 'iban'],
  ['IBAN DE89\u200b3704\u200b0044\u200b0532\u200b0130\u200b00', 'iban'],
  ['john.doe＠example.com', 'email'],
  ['john.doe (at) example (dot) com', 'email'],
  ['john.doe [at] example [dot] com', 'email'],
  ['john.doe&#64;example.com', 'email'],
  ['john.doe&commat;example.com', 'email'],
  [String.raw`john.doe\u0040example.com`, 'email'],
  [String.raw`john.doe\u{40}example.com`, 'email'],
  ['card 4111%201111%201111%201111', 'card'],
  // national ids with other separators or in lower case, phone numbers glued to a prefix (red team, 2026-12-01, later)
  ['NINO AB 12 34 56 C', 'uk-nino'],
  ['NINO AB-12-34-56-C', 'uk-nino'],
  ['NI number ab123456c', 'uk-nino'],
  ['SSN 123 45 6789', 'us-ssn'],
  ['SSN 123.45.6789', 'us-ssn'],
  ['SSN 123/45/6789', 'us-ssn'],
  // named as an SSN: nine digits after the label, bare, glued to it, or with spaced separators (round 9)
  ['SSN 123456789', 'us-ssn'],
  ['SSN123-45-6789', 'us-ssn'],
  ['SSN 123 - 45 - 6789', 'us-ssn'],
  ['Tel.+4915123456789', 'phone'],
  ['WhatsApp/+4915123456789', 'phone'],
  ['x+4915123456789', 'phone'],
  ['m-+4915123456789', 'phone'],
  ['Tel.030/1234567', 'phone'],
  ['Tel.0049 151 23456789', 'phone'],
];

const CLASS: Array<[string, string]> = [
  // other invisible characters: joiners, word joiner, BOM, soft hyphen, bidi controls, a tag character
  ...['\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u202e', '\u2066', '\u{e0020}'].map((c): [string, string] => [
    `card 4111${c}1111${c}1111${c}1111`,
    'card',
  ]),
  // other spaces and line breaks
  ...['\u2009', '\u202f', '\u3000', '\t', '\r\n', '\u2028', ' \n '].map((c): [string, string] => [`card 4111${c}1111${c}1111${c}1111`, 'card']),
  // other dashes, and the separators a person types
  ...['\u2010', '\u2011', '\u2013', '\u2014', '\u2212', '\uff0d', ' - ', '  ', '.'].map((c): [string, string] => [`card 4111${c}1111${c}1111${c}1111`, 'card']),
  ...['\u2013', '\u2014', ' - ', '.', '\u00a0'].map((c): [string, string] => [`IBAN DE89${c}3704${c}0044${c}0532${c}0130${c}00`, 'iban']),
  // other full-width and compatibility forms, digits of other scripts, decorated digits, numeric references
  ['card 𝟒𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏', 'card'],
  ['card ٤١١١ ١١١١ ١١١١ ١١١١', 'card'],
  ['card ४१११-११११-११११-११११', 'card'],
  ['card 4\u03361\u03361\u03361\u0336 1111 1111 1111', 'card'],
  ['card &#52;&#49;&#49;&#49; 1111 1111 1111', 'card'],
  ['IBAN ＤＥ８９ ３７０４ ００４４ ０５３２ ０１３０ ００', 'iban'],
  ['ｊｏｈｎ．ｄｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ', 'email'],
  ['john.doe﹫example.com', 'email'],
  ['john.doe@example\u3002com', 'email'],
  ['john.doe&#x40;example.com', 'email'],
  ['john.doe&#064;example&period;com', 'email'],
  ['john.doe@\u200bexample.com', 'email'],
  ['john.doe (AT) example (DOT) com', 'email'],
  ['john.doe{at}example{dot}com', 'email'],
  ['john.doe ( at ) example ( dot ) com', 'email'],
  ['john.doe\uff08at\uff09example\uff08dot\uff09com', 'email'],
  ['john dot doe at example dot com', 'email'],
  ['john.doe at example dot co dot uk', 'email'],
  ['jane.doe at example.com', 'email'],
  ['jane@example dot org', 'email'],
  // the other detectors read the same canonical form
  ['call +49\u00a030\u00a01234567', 'phone'],
  ['ssn 123\u201345\u20136789', 'us-ssn'],
  // any one separator between an SSN's groups, the same or not; an ITIN (area 9xx) is as regulated
  ...['SSN 123_45_6789', 'SSN 123-45 6789', 'ssn:123.45/6789.', 'SSN#(123 45 6789)', 'ITIN 912 70 1234', 'SSN １２３．４５．６７８９'].map(
    (text): [string, string] => [text, 'us-ssn'],
  ),
  // nine digits after what names them a Social Security number, however the label and digits are written
  ...[
    'SSN: 123456789',
    'ssn=123456789',
    'my SSN is 123 45 6789',
    'Social Security Number: 123-45-6789',
    'social security no. 987 65 4321',
    'social-security #123456789',
    'SSN#987654321',
    'SSNs 123456789',
    'ssn:\t123 / 45 / 6789',
    'SSN ９８７６５４３２１',
    'ssn\u200b123456789',
  ].map((text): [string, string] => [text, 'us-ssn']),
  // a NINO in any case, a separator or none between its groups
  ...[
    'nino AB.12.34.56.C',
    'NINO ab_12_34_56_c',
    'NINO Ab 123456 c',
    'NINO AB 12/34/56 C',
    'NINO:ce-12 34/56.d',
    'NINO ＡＢ\u00a012\u00a034\u00a056\u00a0Ｃ',
  ].map((text): [string, string] => [text, 'uk-nino']),
  // an international number after any prefix but a digit; a national one after an abbreviation with a dot
  ...[
    'phone=+4915123456789',
    'ph#+44 20 7946 0958',
    'tel:+1-202-555-0143',
    '_+4915123456789',
    'Tel.:+49 30 1234567',
    'Tel.＋４９ １５１ ２３４５６７８９',
    'Mob.0170 1234567',
    'Fax.(030) 123 45 67',
    'Tel.202.555.0143',
    'Kontakt:0049 30 1234567',
    'call +49 151 123 45 6789',
    '+4915123456789+4915198765432',
  ].map((text): [string, string] => [text, 'phone']),
];

describe('the fewest digits each kind has', () => {
  // Each kind with the fewest digits it can have (a NINO 6, a phone or an SSN 9, a card 13), written plainly or in digits
  // of another script: a shortcut that skips a detector on text with too few digits must keep finding these.
  const FEWEST: Array<[string, string]> = [
    ['NINO AB 12 34 56 C', 'uk-nino'],
    ['ssn 123-45-6789 on file', 'us-ssn'],
    ['call 030 123456 tomorrow', 'phone'],
    ['card 4222222222222 please', 'card'],
    ['card \uff14\uff12\uff12\uff12 \uff12\uff12\uff12\uff12 \uff12\uff12\uff12\uff12 \uff12 please', 'card'],
    ['reach me at jane@example.org, order 12', 'email'],
    ['IBAN NL91 ABNA 0417 1643 00', 'iban'],
  ];
  it.each(FEWEST)('finds %j', (text, kind) => {
    expect(regulatedKinds({ body: text })).toEqual([kind]);
    expect(maskText(text)).not.toBe(text);
  });
});

describe('detecting regulated data written to dodge the detectors', () => {
  it.each(DODGES)('finds %j (found by the red team)', (text, kind) => {
    expect(findRegulatedData({ body: text })).toEqual([{ kind, path: '/body' }]);
    expect(regulatedKinds({ body: text })).toEqual([kind]);
  });

  it.each(CLASS)('finds %j (the same class)', (text, kind) => {
    expect(findRegulatedData(text)).toEqual([{ kind, path: '' }]);
  });

  it('finds a card number in a support reply however it is written: what sends the reply to a person', () => {
    const reply = (body: string) => ({
      actionType: 'support.reply',
      target: 'ticket-1003',
      parameters: { body: `Hello, your card ${body} was charged twice.` },
    });
    for (const body of ['４１１１１１１１１１１１１１１１', '4111\u00a01111\u00a01111\u00a01111', '4111\u200b1111\u200b1111\u200b1111', '4111 1111\n1111 1111'])
      expect(regulatedKinds(reply(body).parameters)).toEqual(['card']);
  });

  it('finds a card number split into any groups of three or more digits, and masks only the card (red team, 2026-12-02)', () => {
    // 8-8, 6-10, 7-9, 4-4-8, 10-6, Amex as 8-7: each sent a reply with a card straight to the customer before.
    for (const card of ['42424242 42424242', '424242 4242424242', '4242424 242424242', '4242 4242 42424242', '4242424242 424242', '37828224 6310005'])
      expect({ card, kinds: regulatedKinds({ body: `card ${card}` }) }).toEqual({ card, kinds: ['card'] });
    // The numbers beside it stay: what is hidden is the card's digits only.
    expect(maskText('ref 123 42424242 42424242 on 2026 11 30')).toBe('ref 123 [card …4242] on 2026 11 30');
    // Digits in groups that fail the card network's first digit or Luhn: no card (whatever else a detector reads there).
    // A run that passes both is taken for a card (fail closed: a person looks), as 4-4-4-4 always was.
    expect(regulatedKinds({ body: 'order 2026 1130 12345 678' })).not.toContain('card');
    expect(regulatedKinds({ body: 'ids 123456 7890123 456' })).not.toContain('card');
  });

  it('finds a card number or an IBAN glued to letters in free text, and masks it there (red team, 2026-12-02)', () => {
    // Each went to the customer autonomously, and unmasked into the audit log, before.
    const glued: Array<[string, string]> = [
      ['Your card PAN4111111111111111 is blocked', 'card'],
      ['card:4111111111111111x', 'card'],
      ['card 4111-1111-1111-1111abc', 'card'],
      ['Your card 4111111111111111e is blocked', 'card'],
      ['IBANDE89370400440532013000', 'iban'],
      ['IBAN DE89370400440532013000x', 'iban'],
    ];
    for (const [text, kind] of glued) expect({ text, kinds: regulatedKinds({ body: text }) }).toEqual({ text, kinds: [kind] });
    expect(maskText('Your card PAN4111111111111111 is blocked')).toBe('Your card PAN[card …1111] is blocked');
    expect(maskText('IBANDE89370400440532013000x')).toBe('IBANDE** [iban …3000]x');
    // An identifier or digest value is hex, where digits meet letters all the time: there a number stands on its own.
    const digest = 'ab4111111111111111cd';
    expect(regulatedKinds({ digest })).toEqual([]);
    expect(maskDeep({ digest, body: digest })).toEqual({ digest, body: 'ab[card …1111]cd' });
  });

  it('finds a card, an IBAN, a phone number or an e-mail address split by hidden elements, as a person sees it (red team, 2026-12-05)', () => {
    const hidden: Array<[string, string]> = [
      ['card 4111 1111<span style="display:none">-</span> 1111 1111', 'card'],
      ['IBAN DE89 3704<span hidden>zz</span> 0044 0532 0130 00', 'iban'],
      ['call +49 151<font style="font-size: 0">ab</font> 2345 6789', 'phone'],
      ['jane.doe<span class="hidden">x</span>@example.com', 'email'],
      // Nested: the hidden element ends at its own closing tag, not at the first one of its name.
      ['card 4111 1111<span style="visibility:hidden"><span>x</span>y</span> 1111 1111', 'card'],
    ];
    for (const [text, kind] of hidden) expect({ text, kinds: regulatedKinds({ body: text }) }).toEqual({ text, kinds: [kind] });
    expect(maskText('card 4111 1111<span style="display:none">-</span> 1111 1111 ok')).toBe('card [card …1111] ok');
    expect(hiddenRanges('a<span hidden>b</span>c<img hidden src=x>d<b style="display:none">e')).toEqual([
      [1, 22],
      [23, 41], // a void element hides itself only
      [42, 67], // never closed: hidden to the end
    ]);
    // Nothing hidden, nothing read apart: a shown element and a visible font size.
    expect(hiddenRanges('a <span style="display:block;font-size:0.9em">b</span>')).toEqual([]);
    expect(maskText('order 1234<span style="display:none">5</span> 5678')).toBe('order 1234<span style="display:none">5</span> 5678');
  });

  it('reads hex written as a literal, 0x… (red team, 2026-12-07)', () => {
    const hex = (t: string) => `0x${Buffer.from(t).toString('hex')}`;
    expect(regulatedKinds({ body: `Your card: ${hex('4111 1111 1111 1111')}` })).toEqual(['card']);
    expect(regulatedKinds({ body: `Contact ${hex('collector@evil.example')} for help` })).toEqual(['email']);
    expect(maskText(`card ${hex('4111 1111 1111 1111')} ok`)).not.toContain('3431313120');
    // A number in hex (an id, a hash) is no text: nothing found.
    expect(regulatedKinds({ body: 'commit 0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b' })).toEqual([]);
  });

  it('reads what is never rendered as hidden: head, title, style, script, template, a bogus or open comment, and Markdown (red team, 2026-12-07)', () => {
    const split: Array<[string, string]> = [
      ['collector@ev<style>.a{}</style>il.example', 'email'],
      ['card 4111 1111<script>var a=1</script> 1111 1111', 'card'],
      ['card 4111 1111<template>xyz</template> 1111 1111', 'card'],
      ['card 4111 1111<title>t</title> 1111 1111', 'card'],
      ['card 4111 1111<![CDATA[xyz]]> 1111 1111', 'card'],
      ['card 4111 1111<?x y?> 1111 1111', 'card'],
      ['jane.doe@[exa](https://a.example)[mple.com](https://b.example)', 'email'],
      ['card 4111 1111 1111 1111<!-- never closed', 'card'],
    ];
    for (const [text, kind] of split) expect({ text, kinds: regulatedKinds({ body: text }) }).toEqual({ text, kinds: [kind] });
    expect(visibleText('We will re<style>.x{}</style>fund you in full.')).toBe('We will refund you in full.');
    expect(visibleText('We will re<SCRIPT type="x">var a=1</SCRIPT>fund you')).toBe('We will refund you');
    expect(visibleText('We will re<![CDATA[xyz]]>fund you')).toBe('We will refund you');
    expect(visibleText('We will [re](https://a.example)[fund](https://b.example "t") you in full.')).toBe('We will refund you in full.');
    expect(visibleText('We will re**fund** you, and re~~x~~fund.')).toBe('We will refund** you, and rexfund.');
    expect(visibleText('We will [re][1][fund][2] you')).toBe('We will refund you');
    expect(hiddenRanges('a<style>b</style>c<b>d</b>e')).toEqual([[1, 17]]);
    // Nothing hidden: a tag without attributes that renders, a lone bracket, a sum, a link whose text is all there is.
    expect(hiddenRanges('a <b>b</b> [c] 5 * 3 = 15')).toEqual([]);
    expect(visibleText('see [the guide](https://x.example) first')).toBe('see the guide first');
  });

  it('finds a card number, an IBAN or an e-mail address split by HTML markup, and masks the markup inside it too (red team, 2026-12-02)', () => {
    const marked: Array<[string, string]> = [
      ['Your card 4111<b>1111</b>1111<span>1111</span> is blocked', 'card'],
      ['card 4111 <i>1111</i> 1111 <!-- x --> 1111', 'card'],
      ['IBAN DE89<u>3704</u>0044 0532 0130 00', 'iban'],
      ['write to jane.doe<span>@</span>example.com', 'email'],
    ];
    for (const [text, kind] of marked) expect({ text, kinds: regulatedKinds({ body: text }) }).toEqual({ text, kinds: [kind] });
    expect(maskText('Your card 4111<b>1111</b>1111<span>1111</span> is blocked')).toBe('Your card [card …1111]</span> is blocked');
    // Inside a tag, as sent: a browser does not show an attribute, but the text carries it (the masking property test's
    // counterexample `<A 4111111111111111 >` in the first version, which read only the text as shown).
    for (const text of ['<A 4111111111111111 >', '<a title="4111 1111 1111 1111">card</a>', 'x <span data-x="DE89370400440532013000">y</span>'])
      expect({ text, kinds: regulatedKinds({ body: text }) }).toEqual({ text, kinds: [text.includes('DE89') ? 'iban' : 'card'] });
    expect(maskText('<a title="4111 1111 1111 1111">card</a>')).toBe('<a title="[card …1111]">card</a>');
    // Ordinary HTML with numbers in it is left alone.
    expect(regulatedKinds({ body: '<p>Order <b>1234</b> of 2026-12-02, <a href="https://example.com/o/55">details</a></p>' })).toEqual([]);
  });

  it('finds an e-mail address spelled out in an object key, and names it masked', () => {
    expect(findRegulatedData({ context: { 'jane (at) example (dot) org': 'vip' } })).toEqual([{ kind: 'email', path: '/context/j***@[email]' }]);
  });

  it('finds obfuscated card numbers and IBANs however they are mixed (property)', () => {
    const written = fc.constantFrom(...OBFUSCATABLE).chain(([secret, kind]) => obfuscated(secret).map((text) => [text, kind] as const));
    fc.assert(
      fc.property(written, ([text, kind]) => {
        expect(regulatedKinds({ body: `please use ${text} today` })).toEqual([kind]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('no false positives in ordinary text', () => {
  const ORDINARY = [
    'order 1234 5678',
    'order ４１１１１１１１１１１１１１１２ (full width, fails Luhn)',
    'delivered 2026-11-24, paid 24.11.2026 at 10:30',
    'amount 1\u2009234,56 € and 480.00 EUR, 12\u00a0000 JPY',
    'We met at the office at 10 and I put a dot on the map.',
    'look at the dot in the middle',
    'He got rich at the dot com boom',
    'meet me at noon dot then',
    'the docs are available at example.com',
    'Grüße aus München, Bestellung 1234',
    'Réponse\u00a0: votre commande n° 77 est expédiée — merci',
    'こんにちは。ご注文番号は１２３４です',
    'R&D &amp; ops, 3 (at most) items',
    // shaped like a national id or a glued phone number, but a date, a time, a version, a sum, an id or a path
    'On 12/05/26 a refund was issued; am 12.05.26 d. h. morgen; on 12-05-26 a technician came',
    'paid 12/05/2026, delivered 2026-11-30, due 30.11.26, at 10:30:00 a customer called',
    'version 10.123.45.6789, build 1.123.45.6789, 123.45.6789.1',
    'semver 1.2.3+4915123456789, sum 3+4915123456789, 2026-11-24T10:00:00+0100 (UTC+01:00)',
    'order-0170-1234567, GET /orders/0170 1234567, ticket-0042',
    '00000000-0000-1000-8000-001234567890',
    'isbn 978-3-16-148410-0, balance +1.234.567,89 EUR',
    'ref 666-12-3456, 900-12-3456, 123-00-4567, 123 45 0000',
    'AB 12 34 56 E, QQ 12 34 56 A, BG 12 34 56 A, AB12 CDE, SW1A 1AA',
    // nine digits named as something else, or an SSN label before other digits
    'order 123456789, account 987654321',
    'SSN field left empty (0 of 12 forms), ssn count 42, SSN 1234567890',
  ];
  it.each(ORDINARY)('finds nothing in %j', (text) => {
    expect(findRegulatedData({ text })).toEqual([]);
  });
});

// Separators not on a list (red team, 2026-12-07): the card and IBAN detectors knew a list of marks between the groups,
// and any other (`•`, `·`, `;`, `=`, `'`, `!`, `、`) let the number through, autonomous and unmasked in the audit trail; an
// e-mail address with its symbols in brackets (`[@]`, `(.)`) or a middle dot in its domain too.
describe('detecting regulated data split by any mark (red team, 2026-12-07)', () => {
  const FOUND: Array<[string, string]> = [
    ['refund to card 4111 • 1111 • 1111 • 1111', 'card'],
    ['card 5500·0000·0000·0004', 'card'],
    ['card 4111;1111;1111;1111', 'card'],
    ["card 4111='1111'1111'1111", 'card'],
    ['card 4111!1111?1111&1111', 'card'],
    ['card 4111$1111^1111*1111', 'card'],
    ['card 4111、1111、1111、1111', 'card'],
    ['card 4111¦1111¦1111¦1111', 'card'],
    ['card 4111`1111`1111`1111', 'card'],
    ['card 41 11 11 11 11 11 11 11', 'card'],
    ['card 41-11-11-11-11-11-11-11', 'card'],
    ['IBAN DE89;3704;0044;0532;0130;00', 'iban'],
    ['IBAN DE89|3704|0044|0532|0130|00', 'iban'],
    ['IBAN DE89,3704,0044,0532,0130,00', 'iban'],
    ['IBAN DE89•3704•0044•0532•0130•00', 'iban'],
    ['IBAN DE89+3704+0044+0532+0130+00', 'iban'],
    ['contact jane.doe[@]example.com', 'email'],
    ['contact billing.jane(@)example[.]org', 'email'],
    ['contact jane.doe@example·com', 'email'],
    ['contact jane.doe [at] example [.] com', 'email'],
    ['contact jane { @ } example { . } com', 'email'],
    ['call +49•151•23456789', 'phone'],
  ];
  it.each(FOUND)('finds %j', (text, kind) => {
    expect(findRegulatedData({ body: text })).toEqual([{ kind, path: '/body' }]);
    expect(maskText(text)).not.toMatch(/1111.{1,3}1111|3704|jane\.doe|billing\.jane|23456789/);
  });

  const NOT_FOUND = [
    'card 4111 • 1111 • 1111 • 1112', // fails Luhn
    'rooms 12, 14, 16, 18, 20, 22, 24',
    'scores 10 - 20 - 30 - 40 - 50 - 60 - 70',
    'released 2026-12-07 at 10:11:12; build 1.2.3',
    'order 12345678-90123456',
    'IBAN DE88;3704;0044;0532;0130;00', // fails mod 97
    'write to jane (@) home',
    'the list (.) ends here',
  ];
  it.each(NOT_FOUND)('finds nothing in %j', (text) => {
    expect(findRegulatedData({ text })).toEqual([]);
  });

  const ADVERSARIAL: [string, (n: number) => string, number][] = [
    ['11 ', (n) => '11 '.repeat(n), 20000],
    ['1•', (n) => '1•'.repeat(n), 30000],
    ['11;;', (n) => '11;;'.repeat(n), 15000],
    ['(@)', (n) => '(@)'.repeat(n), 20000],
    ['a[.]', (n) => 'a[.]'.repeat(n), 15000],
    ['DE89;', (n) => 'DE89;'.repeat(n), 12000],
  ];
  it.each(ADVERSARIAL)('reads %j repeated in linear time', (_, make, n) => {
    expect(timeToRead(make(n))).toBeLessThan(LINEAR_BOUND_MS);
  });
});

// Forms that slipped past the detectors (red team, 2026-12-04): a card grouped with brackets, an SSN with doubled
// spaces, an e-mail address spelled out with spaces. Each was stored unmasked, and the card's reply went out autonomously.
describe('detecting regulated data grouped or spaced out (red team, 2026-12-04)', () => {
  const FOUND: Array<[string, string]> = [
    ['Your card (4111)(1111)(1111)(1111) is on file.', 'card'],
    ['[4111][1111][1111][1111]', 'card'],
    // the class: any run of up to three separators between the groups, digits of other scripts too
    ['card {4111}{1111}{1111}{1111}', 'card'],
    ['card (4111) (1111) (1111) (1111)', 'card'],
    ['card 4111__1111__1111__1111', 'card'],
    ['card 4111)(1111)(1111)(1111', 'card'],
    ['card (４１１１)(１１１１)(１１１１)(１１１１)', 'card'],
    ['card (4)(1)(1)(1)(1)(1)(1)(1)(1)(1)(1)(1)(1)(1)(1)(1)', 'card'],
    ['card [3782][822463][10005]', 'card'],
    ['123  45  6789', 'us-ssn'],
    ['ssn on file: 123   45   6789', 'us-ssn'],
    ['123--45--6789', 'us-ssn'],
    ['z e l d a @ example . org', 'email'],
    ['zelda @ example . org', 'email'],
    ['write to zelda@example . co . uk today', 'email'],
    ['z e l d a @ e x a m p l e . o r g', 'email'],
    ['ｚ ｅ ｌ ｄ ａ ＠ example . org', 'email'],
    // Red team, 2026-12-07: a space on one side of a dot, or after the `+`, ran in a support reply.
    ['write to jane.doe@example .com for the invoice', 'email'],
    ['write to jane.doe@ example. com for the invoice', 'email'],
    ['call our colleague on + 49 170 1234567', 'phone'],
    ['Tel.: + 44 20 7946 0958', 'phone'],
  ];
  it.each(FOUND)('finds %j', (text, kind) => {
    expect(findRegulatedData({ body: text })).toEqual([{ kind, path: '/body' }]);
    expect(regulatedKinds({ body: text })).toEqual([kind]);
  });

  it('sends a support reply with a bracketed card to a person', () => {
    expect(regulatedKinds({ body: 'Hello, your card (4111)(1111)(1111)(1111) is on file.' })).toEqual(['card']);
  });

  const NOT_FOUND = [
    'card (4111)(1111)(1111)(1112)', // fails Luhn
    '[4111][1111][1111][1112]',
    'order (1234)(5678)',
    'call me at 5 . 30',
    'meet @ 5 . ok',
    'I am @ home . Ok',
    'a b @ c d',
    'version 1..123..45..6789',
    '5 + 10 20 30 40 50', // a sum, not a number after a `+`
    'I am @ home. Ok',
  ];
  it.each(NOT_FOUND)('finds nothing in %j', (text) => {
    expect(findRegulatedData({ text })).toEqual([]);
  });

  // A regular expression that backtracks catastrophically would take seconds (or forever) on these: each must be read
  // in linear time (`timeToRead`). Sizes up to 64 KB.
  const ADVERSARIAL: [string, (n: number) => string, number][] = [
    ['a ', (n) => 'a '.repeat(n), 30000],
    ['1 ', (n) => '1 '.repeat(n), 30000],
    ['(1)', (n) => '(1)'.repeat(n), 20000],
    ['(1111)', (n) => '(1111)'.repeat(n), 10000],
    ['[1]', (n) => '[1]'.repeat(n), 20000],
    ['1  ', (n) => '1  '.repeat(n), 20000],
    ['4-', (n) => '4-'.repeat(n), 30000],
    ['a … @ b …', (n) => `${'a '.repeat(n)} @ ${'b '.repeat(n)}`, 15000],
    ['a @ ', (n) => 'a @ '.repeat(n), 15000],
    ['z @ a . …', (n) => `z @ ${'a . '.repeat(n)}`, 15000],
    ['123  45  ', (n) => '123  45  '.repeat(n), 6000],
    // What the visible reading hides (red team, 2026-12-07): Markdown links and marks, raw-text elements, bogus comments.
    ['[a](b)', (n) => '[a](b)'.repeat(n), 10000],
    ['[1', (n) => '[1'.repeat(n), 30000],
    ['a*', (n) => 'a*'.repeat(n), 30000],
    ['1~`', (n) => '1~`'.repeat(n), 20000],
    ['<style>', (n) => '<style>1'.repeat(n), 8000],
    ['<!x', (n) => '<!x1'.repeat(n), 15000],
    ['<!--', (n) => '<!--1'.repeat(n), 12000],
    ['<?', (n) => '<?1 '.repeat(n), 15000],
    // A secret handed over in prose (red team, 2026-12-07): the words that lead to it, and a value that never ends.
    ['password is been ', (n) => 'password is been '.repeat(n), 4000],
    ['password is 1…', (n) => `password is ${'1'.repeat(n)}`, 60000],
    ['cvv 1', (n) => 'cvv 1'.repeat(n), 12000],
  ];
  it.each(ADVERSARIAL)('reads %j in linear time', (_, make, n) => {
    expect(timeToRead(make(n))).toBeLessThan(LINEAR_BOUND_MS);
  });
});

describe('a mask hides an address and nothing else (red team, 2026-12-07)', () => {
  it('finds a quoted local part that holds more than a name, and shows it as written instead of masking what it hides', () => {
    const sql = `UPDATE orders SET status = 'shipped' WHERE id = 42; /*"*/ DELETE FROM customers; /*"@x.io */`;
    expect(maskText(sql)).toBe(sql);
    expect(regulatedKinds({ sql })).toEqual(['email']);
    const link = 'Write to "https://evil.example/acme/verify-card?t=9"@support.acme.com and we will help.';
    expect(maskText(link)).toBe(link);
    expect(regulatedKinds({ link })).toEqual(['email']);
    // A name in quotes is an address people use: masked as any other.
    expect(maskText('Write to "jane roe"@example.com today')).toBe('Write to "***@[email] today');
  });

  it('masks an address written inside such a quoted part, so that quoting one does not carry it past masking', () => {
    expect(maskText('"x;jane.doe@example.com;"@x.io')).toBe('"x;j***@[email];"@x.io');
    expect(maskText('"x; jane.doe@example.com"@x.io', { forReviewers: true })).toBe('"x; j***@[email at example.com]"@x.io');
  });

  it('shows as written a local part that could end a string or a comment, quoted or not, and masks a name (red team of this change, 2026-12-07)', () => {
    for (const sql of [
      `SELECT * FROM customers WHERE email = '"' UNION SELECT password FROM users --"@acme.com'`,
      `DELETE FROM users WHERE email = 'x'OR'a'LIKE'%'--@acme.com'`,
      `UPDATE users SET role='admin' WHERE email='x'OR'1'LIKE'1'--@acme.com'`,
    ]) {
      expect(maskText(sql)).toBe(sql);
      expect(regulatedKinds({ sql })).toEqual(['email']);
    }
    expect(maskText("write to o'brien@example.com")).toBe('write to o***@[email]');
    expect(maskText('write to "Jane Roe"@example.com')).toBe('write to "***@[email]');
  });

  it('shows a domain to reviewers only as it was written: read from other characters, it would show as another (red team of this change, 2026-12-07)', () => {
    expect(maskText('jane@acme.com', { forReviewers: true })).toBe('j***@[email at acme.com]');
    expect(maskText('jane@ac\u0323me.com', { forReviewers: true })).toBe('j***@[email]');
    expect(maskText('jane@acme\u096a.com', { forReviewers: true })).toBe('j***@[email]');
    expect(maskText('jane@acme&#46;evil.com', { forReviewers: true })).not.toContain('[email at');
  });

  it('reads no domain that runs into an address or a mask: what masking leaves has nothing left to find (property-found, 2026-12-07)', () => {
    for (const text of ['{@ jane.doe@example.org ', '"{"@ jane.doe@example.org', '0@A. GB82 WEST 1234 5698 7654 32 ']) {
      const masked = maskText(text);
      expect(masked).not.toContain('jane.doe');
      expect(findRegulatedData({ masked })).toEqual([]);
    }
  });

  it('masks an unquoted local part whatever its length: padded in front, an address would otherwise show whole', () => {
    expect(maskText(`${'x'.repeat(70)}jane.doe@example.com`)).toBe('x***@[email]');
  });
});
