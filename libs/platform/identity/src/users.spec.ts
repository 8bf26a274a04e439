// real: scrypt password hashes, RFC 6238 codes, the users file on disk; fake: nothing.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base32, otpauthUri, totpCode, verifyTotp } from './totp';
import { checkPassword, checkUserPassword, hashPassword, hashToCheck, IdentityUser, loadIdentityUsers, writeIdentityUsers } from './users';

describe('the local identity provider’s users', () => {
  it('keeps only password hashes in the users file, the passwords in 0600 files beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'identity-'));
    const { usersFile, secrets } = writeIdentityUsers(dir);
    const users = loadIdentityUsers(usersFile);
    expect(users.map((u) => u.sub)).toEqual(['alice', 'bob', 'carol', 'fiona', 'sam', 'lena', 'max']);
    expect(users.find((u) => u.sub === 'carol')!.roles).toContain('pii:view');
    expect(readFileSync(usersFile, 'utf8')).not.toContain(secrets.alice.password);
    expect(readFileSync(join(dir, 'passwords', 'alice'), 'utf8')).toBe(secrets.alice.password);
    expect(statSync(join(dir, 'passwords', 'alice')).mode & 0o777).toBe(0o600);
    expect(await checkPassword(users[0].password, secrets.alice.password)).toBe(true);
    expect(await checkPassword(users[0].password, `${secrets.alice.password}x`)).toBe(false);
    // Only max is enrolled in MFA.
    expect(users.filter((u) => u.totpSecret).map((u) => u.sub)).toEqual(['sam', 'max']);
  });

  it('refuses a malformed hash rather than matching it', async () => {
    expect(await checkPassword('scrypt$$', 'anything')).toBe(false);
    expect(await checkPassword(hashPassword('pw'), 'pw')).toBe(true);
  });

  it('checks a password off the event loop: a callback queued before two checks runs before the second ends (red team, H2)', async () => {
    const user: IdentityUser = { sub: 'alice', name: 'Alice', roles: ['reviewer'], password: hashPassword('right') };
    const order: string[] = [];
    setImmediate(() => order.push('other work'));
    // Checked in line, both would end before the loop turned once. Off it, the loop turns (and runs the callback) at the
    // latest when the first ends, and the second, started then, ends on a later turn: an order, not a duration.
    expect(await checkUserPassword(undefined, 'guess')).toBe(false);
    order.push('first check');
    expect(await checkUserPassword(user, 'right')).toBe(true);
    order.push('second check');
    expect(order.indexOf('other work')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('other work')).toBeLessThan(order.indexOf('second check'));
  });

  it('checks an unknown user against a real hash of the same cost, so the time taken does not tell which names exist (red team, 2026-12-04)', async () => {
    const user: IdentityUser = { sub: 'alice', name: 'Alice', roles: ['reviewer'], password: hashPassword('right') };
    // The same shape as a user's hash (scrypt, a salt of the same length, a 32-byte value): the same work to check.
    const shape = (h: string) => h.split('$').map((part, i) => (i === 0 ? part : Buffer.from(part, 'base64url').length));
    expect(shape(hashToCheck(undefined))).toEqual(shape(hashToCheck(user)));
    expect(hashToCheck(undefined)).toBe(hashToCheck(undefined));
    for (const tried of ['', 'right', 'wrong', hashToCheck(undefined)]) expect(await checkUserPassword(undefined, tried)).toBe(false);
    expect(await checkUserPassword(user, 'wrong')).toBe(false);
    expect(await checkUserPassword(user, 'right')).toBe(true);
  });

  it('accepts the current one-time code and its neighbours, nothing else', () => {
    const secret = Buffer.from('12345678901234567890').toString('base64url');
    // RFC 6238, appendix B (SHA-1, T = 59 s): 94287082, of which an authenticator shows the last six digits.
    expect(totpCode(secret, 59_000)).toBe('287082');
    const now = Date.now();
    expect(verifyTotp(secret, totpCode(secret, now), now)).toBe(true);
    expect(verifyTotp(secret, totpCode(secret, now, -1), now)).toBe(true);
    expect(verifyTotp(secret, totpCode(secret, now, -3), now)).toBe(false);
    expect(verifyTotp(secret, 'abcdef', now)).toBe(false);
  });

  it('writes an enrolled user’s secret as an otpauth:// link in base32, as authenticator apps and oathtool take it', () => {
    // RFC 4648 test vectors, without padding.
    expect(['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar'].map((t) => base32(Buffer.from(t)))).toEqual([
      '',
      'MY',
      'MZXQ',
      'MZXW6',
      'MZXW6YQ',
      'MZXW6YTB',
      'MZXW6YTBOI',
    ]);
    // RFC 6238's secret: the base32 an authenticator is given is the same 20 bytes the codes are made from.
    const secret = Buffer.from('12345678901234567890').toString('base64url');
    expect(otpauthUri('max', secret)).toBe(
      'otpauth://totp/Countersign:max?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Countersign&algorithm=SHA1&digits=6&period=30',
    );
    const dir = mkdtempSync(join(tmpdir(), 'identity-'));
    const { secrets } = writeIdentityUsers(dir);
    const file = join(dir, 'passwords', 'max.totp-uri');
    expect(readFileSync(file, 'utf8').trim()).toBe(otpauthUri('max', secrets.max.totpSecret!));
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
