import { sign, verify } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentKey, generateKey, KeyFileError, keyById, loadSigningKeys, loadVerifyKeys, validAt, verifyKeyEntry, watchVerifyKeys } from './index';

// real: node:crypto and files in a temporary directory; fake: nothing.
const at = (day: number) => new Date(Date.UTC(2026, 10, 1 + day));
const dir = () => mkdtempSync(join(tmpdir(), 'countersign-keys-'));
const write = (file: string, value: unknown) => (writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value)), file);

describe('one shape for every signing key', () => {
  const k1 = generateKey('k-2026-11', { notBefore: at(0), notAfter: at(30) });
  const k2 = generateKey('k-2026-12', { notBefore: at(25), notAfter: at(60) });

  it('signs with the newest key valid now; a key past its rotation deadline signs nothing', () => {
    const keys = [k1.key, k2.key];
    expect(currentKey(keys, at(10))?.keyId).toBe('k-2026-11');
    expect(currentKey(keys, at(26))?.keyId).toBe('k-2026-12');
    expect(currentKey(keys, at(60))).toBeUndefined();
    expect(currentKey(keys, at(-1))).toBeUndefined();
    expect([validAt(k1.key, at(0)), validAt(k1.key, at(30))]).toEqual([true, false]);
  });

  it('loads signing keys from [{keyId, privateKeyFile, notBefore, notAfter}] and verify keys from [{keyId, publicKeyPem, …}]', () => {
    const d = dir();
    const pem = write(join(d, 'k1.pem'), k1.privateKeyPem);
    const signing = loadSigningKeys(
      write(join(d, 'signing.json'), [{ keyId: 'k-2026-11', privateKeyFile: pem, notBefore: at(0).toISOString(), notAfter: at(30).toISOString() }]),
    );
    const verifying = loadVerifyKeys(write(join(d, 'verify.json'), [verifyKeyEntry(k1.key), verifyKeyEntry(k2.verifyKey)]));
    expect(signing).toMatchObject([{ keyId: 'k-2026-11', notBefore: at(0), notAfter: at(30) }]);
    expect(verifying.map((k) => k.keyId)).toEqual(['k-2026-11', 'k-2026-12']);
    const signature = sign(null, Buffer.from('x'), signing[0].privateKey);
    expect(verify(null, Buffer.from('x'), verifying[0].publicKey, signature)).toBe(true);
  });

  it('reads a directory of verify-key files, one key each, and the older `publicPem` spelling', () => {
    const d = join(dir(), 'keys');
    mkdirSync(d);
    write(join(d, 'a.json'), verifyKeyEntry(k1.key));
    const { publicKeyPem, ...rest } = verifyKeyEntry(k2.key);
    write(join(d, 'b.json'), { ...rest, publicPem: publicKeyPem });
    write(join(d, 'notes.txt'), 'not a key');
    expect(loadVerifyKeys(d).map((k) => k.keyId)).toEqual(['k-2026-11', 'k-2026-12']);
  });

  it('names the file, the entry and the field of a bad keys file', () => {
    const d = dir();
    const entry = { keyId: 'k', privateKeyFile: join(d, 'missing.pem'), notBefore: at(0).toISOString(), notAfter: at(1).toISOString() };
    const load = (value: unknown) => () => loadSigningKeys(write(join(d, 'signing.json'), value));
    expect(load([])).toThrow(new KeyFileError(`${join(d, 'signing.json')}: lists no key`));
    expect(load(entry)).toThrow(/expected an array of keys/);
    expect(load('{')).toThrow(/is not JSON/);
    expect(load([{ ...entry, keyId: '' }])).toThrow(/: 0\.keyId: required$/);
    expect(load([{ ...entry, notAfter: 'tomorrow' }])).toThrow(/: 0\.notAfter: an ISO 8601 date-time with offset$/);
    expect(load([{ ...entry, notAfter: entry.notBefore }])).toThrow(/: 0\.notAfter: must be after notBefore$/);
    expect(load([entry])).toThrow(/: 0\.privateKeyFile: cannot read .*missing\.pem$/);
    expect(() => loadVerifyKeys(join(d, 'absent.json'))).toThrow();
  });
});

describe('the key a key id names (keyById)', () => {
  const k1 = generateKey('k-2026-11', { notBefore: at(0), notAfter: at(30) });
  const k2 = generateKey('k-2026-12', { notBefore: at(25), notAfter: at(60) });

  it('finds it in a list; an unknown id, or one that is not a string, names none', () => {
    expect(keyById([k1.verifyKey, k2.verifyKey], 'k-2026-12')).toBe(k2.verifyKey);
    expect(keyById([k1.verifyKey], 'k-2026-12')).toBeUndefined();
    expect(keyById([k1.verifyKey], 7)).toBeUndefined();
  });

  it('finds a key added to a watched file since its last look, at once, not a check interval later (a rotation: verifiers first)', () => {
    const file = write(join(dir(), 'verify.json'), [verifyKeyEntry(k1.key)]);
    // Looked at again by itself only every hour: without the look `keyById` makes, the new key stays unknown that long.
    const watched = watchVerifyKeys(file, 3_600_000);
    expect(keyById(watched, 'k-2026-12')).toBeUndefined();
    write(`${file}.new`, [verifyKeyEntry(k1.key), verifyKeyEntry(k2.verifyKey)]);
    renameSync(`${file}.new`, file);
    expect(watched.keys().map((k) => k.keyId)).toEqual(['k-2026-11']);
    expect(keyById(watched, 'k-2026-12')?.keyId).toBe('k-2026-12');
    expect(watched.keys().map((k) => k.keyId)).toEqual(['k-2026-11', 'k-2026-12']);
    // A key id that is still unknown names none; the keys read stay in place.
    expect(keyById(watched, 'forged')).toBeUndefined();
    expect(watched.keys()).toHaveLength(2);
  });
});
