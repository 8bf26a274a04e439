import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { ibanValid, luhnValid, maskDeep, maskText } from './masking';

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

  it('uses configured national-id patterns', () => {
    expect(maskText('id AB-123456-C', { nationalIds: [{ name: 'test-id', pattern: /\bAB-\d{6}-C\b/g }] })).toBe('id [test-id]');
    // A configured pattern needs no digit: it is applied even where no built-in one could match.
    expect(maskText('codename BLUEFALCON', { nationalIds: [{ name: 'codename', pattern: /\bBLUE[A-Z]+\b/g }] })).toBe('codename [codename]');
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

  it('never throws on deep input: what is too deep to scan is replaced, not kept', () => {
    let deep: unknown = { card: '4111111111111111' };
    for (let i = 0; i < 10_000; i++) deep = { a: [deep] };
    const json = JSON.stringify(maskDeep(deep));
    expect(json).toContain('[too deep]');
    expect(json).not.toContain('4111111111111111');
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
