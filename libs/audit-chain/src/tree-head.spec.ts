import { createHash, createPublicKey, sign } from 'node:crypto';
import {
  generateTreeHeadKey,
  keyFingerprint,
  KeyRing,
  SigningUnavailableError,
  TreeHead,
  TreeHeadPolicy,
  treeHeadSigningBytes,
  verifyTreeHead,
} from './tree-head';

const day = 24 * 3600 * 1000;
const t0 = new Date('2026-11-01T00:00:00Z');
const at = (days: number) => new Date(t0.getTime() + days * day);
const root = createHash('sha256').update('root').digest();

describe('signed tree heads', () => {
  const k1 = generateTreeHeadKey('heads-2026-11', at(0), at(30));
  const k2 = generateTreeHeadKey('heads-2026-12', at(25), at(60));

  it('signs with the newest valid key and verifies', () => {
    const ring = new KeyRing([k1.entry, k2.entry]);
    const early = ring.sign(10, root, at(1));
    const overlap = ring.sign(20, root, at(26));
    expect(early.keyId).toBe('heads-2026-11');
    expect(overlap.keyId).toBe('heads-2026-12');
    // Heads signed by the old key inside its window still verify after the rotation.
    expect(verifyTreeHead(early, ring.verifierKeys())).toEqual({ ok: true });
    expect(verifyTreeHead(overlap, ring.verifierKeys())).toEqual({ ok: true });
  });

  it('fails closed past the rotation deadline, with an alert, and never signs with an expired key', () => {
    const alerts: string[] = [];
    const ring = new KeyRing([k1.entry], (r) => alerts.push(r));
    expect(ring.health(at(29))).toMatchObject({ healthy: true, keyId: 'heads-2026-11' });
    expect(() => ring.sign(5, root, at(31))).toThrow(SigningUnavailableError);
    expect(alerts[0]).toMatch(/past its rotation deadline/);
    expect(ring.health(at(31))).toMatchObject({ healthy: false });
  });

  it('rejects a forged signature, an unknown key id, a changed field, and a head outside its key window', () => {
    const ring = new KeyRing([k1.entry]);
    const keys = ring.verifierKeys();
    const head = ring.sign(7, root, at(2));
    const forger = new KeyRing([{ ...generateTreeHeadKey('heads-2026-11', at(0), at(30)).entry }]);
    expect(verifyTreeHead(forger.sign(7, root, at(2)), keys)).toEqual({ ok: false, problem: 'tree head of size 7 has an invalid signature' });
    expect(verifyTreeHead({ ...head, keyId: 'other' }, keys)).toMatchObject({ ok: false, problem: /unknown key/ });
    expect(verifyTreeHead({ ...head, treeSize: 8 }, keys)).toMatchObject({ ok: false, problem: /invalid signature/ });
    expect(verifyTreeHead({ ...head, rootHash: '00'.repeat(32) }, keys)).toMatchObject({ ok: false });
    expect(verifyTreeHead({ ...head, timestamp: at(40).toISOString() }, keys)).toMatchObject({ ok: false, problem: /outside the validity/ });
  });

  it('refuses a head whose size is no tree size or whose root is no hash, even when validly signed; never signs one', () => {
    const ring = new KeyRing([k1.entry]);
    const signed = (h: Omit<TreeHead, 'signature'>) => ({ ...h, signature: sign(null, treeHeadSigningBytes(h), k1.entry.privateKey).toString('base64') });
    const head = { treeSize: 2.5, rootHash: root.toString('hex'), timestamp: at(2).toISOString(), keyId: k1.entry.keyId };
    const problem = 'tree head of size 2.5 is malformed: its size is not an integer from 0 to 2^53 - 1';
    expect(verifyTreeHead(signed(head), ring.verifierKeys())).toEqual({ ok: false, problem });
    expect(verifyTreeHead(signed({ ...head, treeSize: 2 ** 53 }), ring.verifierKeys())).toMatchObject({ ok: false, problem: /malformed/ });
    const rootless = signed({ ...head, treeSize: 2, rootHash: 'root' });
    expect(verifyTreeHead(rootless, ring.verifierKeys())).toMatchObject({ ok: false, problem: /root is not a hex SHA-256/ });
    expect(() => ring.sign(-1, root, at(2))).toThrow(RangeError);
  });

  it('publishes a head every N entries or every T milliseconds', () => {
    const policy = new TreeHeadPolicy(100, 5_000, t0);
    expect(policy.due(99, new Date(t0.getTime() + 1_000))).toBe(false);
    expect(policy.due(100, new Date(t0.getTime() + 1_000))).toBe(true);
    policy.published(100, new Date(t0.getTime() + 1_000));
    expect(policy.due(101, new Date(t0.getTime() + 5_999))).toBe(false);
    expect(policy.due(101, new Date(t0.getTime() + 6_000))).toBe(true);
    expect(policy.due(100, new Date(t0.getTime() + 60_000))).toBe(false); // nothing new, nothing to sign
  });

  it('publishes a head when the clock went back since the last one (clock probe, 2026-12-05: the tail stayed unsigned for as long as the step)', () => {
    const policy = new TreeHeadPolicy(100, 5_000, t0);
    policy.published(10, new Date(t0.getTime() + 2 * 86_400_000)); // signed while the clock ran two days ahead
    expect(policy.due(11, t0)).toBe(true);
    expect(policy.due(10, t0)).toBe(false); // nothing new, nothing to sign
  });

  it('fingerprints a key as the hex SHA-256 of its SPKI DER, the same from its private half, its public half and its PEM', () => {
    const der = createPublicKey(k1.entry.privateKey).export({ type: 'spki', format: 'der' });
    const expected = createHash('sha256').update(der).digest('hex');
    expect(keyFingerprint(k1.entry.privateKey)).toBe(expected);
    expect(keyFingerprint(createPublicKey(k1.publicPem))).toBe(expected);
    expect(keyFingerprint(createPublicKey(k2.publicPem))).not.toBe(expected);
  });
});
