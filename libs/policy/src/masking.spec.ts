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
    for (const secret of ['new.address@example.org', '4111 1111 1111 1111', 'DE89370400440532013000', '+49 30 1234567', '123-45-6789']) expect(masked).not.toContain(secret);
    expect(masked).toContain('[card …1111]');
    expect(masked).toContain('[iban …3000]');
    expect(masked).toContain('@[email]');
    expect(masked).toContain('[us-ssn]');
  });

  it('leaves numbers that are not card numbers or IBANs alone (order ids, amounts)', () => {
    expect(maskText('order 4111111111111112 amount 480.00 EUR, ticket-1003')).toBe('order 4111111111111112 amount 480.00 EUR, ticket-1003');
  });

  it('masks deep inside a proposal, keeping its shape; the shipped scenarios keep no card or IBAN', () => {
    const proposal = { parameters: { amount: 60, card: '4111-1111-1111-1111', iban: 'DE89 3704 0044 0532 0130 00', nested: [{ email: 'a.b@example.com' }] }, target: 'order-81' };
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
