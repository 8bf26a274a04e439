import { createHash, createPublicKey, KeyObject, sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import { currentKey, generateKey, SigningKey, validAt, VerifyKey, verifyKeyOf } from '@countersign/keys';
import { isTreePosition } from './merkle';

/** A signed statement of the log's size and root at a time, by a key with an id. */
export interface TreeHead {
  treeSize: number;
  /** Hex SHA-256 root. */
  rootHash: string;
  /** ISO 8601. */
  timestamp: string;
  keyId: string;
  /** Base64 Ed25519 signature over the canonical JSON of the four fields above. */
  signature: string;
}

/** No key may sign now (all expired or not yet valid): the writer must stop publishing heads and alert. */
export class SigningUnavailableError extends Error {}

export const treeHeadSigningBytes = (h: Omit<TreeHead, 'signature'>) =>
  Buffer.from(canonicalize({ treeSize: h.treeSize, rootHash: h.rootHash, timestamp: h.timestamp, keyId: h.keyId })!, 'utf8');

export type KeyHealth = { healthy: true; keyId: string; expiresInMs: number } | { healthy: false; reason: string };

/**
 * Signing keys (`SigningKey` of `@countersign/keys`: the `AUDIT_SIGNING_KEYS_FILE` that `loadSigningKeys` reads)
 * that rotate with overlap: the newest key valid now signs. A key past its rotation
 * deadline never signs; with no valid key signing fails closed and `onAlert` is told why.
 */
export class KeyRing {
  /**
   * @param source the keys, or a watched keys file (`watchSigningKeys` of `@countersign/keys`) looked at again at each
   *   signature, so a rotated file takes effect without a restart and an expired key stops signing at once.
   */
  constructor(
    private readonly source: readonly SigningKey[] | { keys(): readonly SigningKey[] },
    private readonly onAlert: (reason: string) => void = () => undefined,
  ) {}

  private get keys(): readonly SigningKey[] {
    // An array has a `keys()` of its own (its indexes): only a non-array source is asked for its keys.
    return Array.isArray(this.source) ? this.source : (this.source as { keys(): readonly SigningKey[] }).keys();
  }

  health(now: Date): KeyHealth {
    const key = this.current(now);
    if (!key) return { healthy: false, reason: this.whyNone(now) };
    return { healthy: true, keyId: key.keyId, expiresInMs: key.notAfter.getTime() - now.getTime() };
  }

  sign(treeSize: number, root: Buffer, now: Date): TreeHead {
    if (!isTreePosition(treeSize)) throw new RangeError(`cannot sign a tree head of size ${String(treeSize)}: not an integer from 0 to 2^53 - 1`);
    const key = this.current(now);
    if (!key) {
      const reason = this.whyNone(now);
      this.onAlert(reason);
      throw new SigningUnavailableError(reason);
    }
    const head = { treeSize, rootHash: root.toString('hex'), timestamp: now.toISOString(), keyId: key.keyId };
    return { ...head, signature: sign(null, treeHeadSigningBytes(head), key.privateKey).toString('base64') };
  }

  /** The public side of the ring, for verifiers. */
  verifierKeys(): VerifyKey[] {
    return this.keys.map(verifyKeyOf);
  }

  private current(now: Date): SigningKey | undefined {
    return currentKey(this.keys, now);
  }

  private whyNone(now: Date): string {
    if (!this.keys.length) return 'no tree-head signing key is configured';
    const newest = [...this.keys].sort((a, b) => b.notAfter.getTime() - a.notAfter.getTime())[0];
    return newest.notAfter.getTime() <= now.getTime()
      ? `every tree-head signing key is past its rotation deadline (newest, ${newest.keyId}, expired ${newest.notAfter.toISOString()})`
      : `no tree-head signing key is valid yet at ${now.toISOString()}`;
  }
}

export type HeadCheck = { ok: true } | { ok: false; problem: string };

/** Checks a head's form (an integer size, a hex root), signature, key id and that it was signed within the key's window. */
export function verifyTreeHead(head: TreeHead, keys: readonly VerifyKey[]): HeadCheck {
  const malformed = treeHeadFormProblem(head);
  if (malformed) return { ok: false, problem: malformed };
  const key = keys.find((k) => k.keyId === head.keyId);
  if (!key) return { ok: false, problem: `tree head of size ${head.treeSize} is signed by unknown key ${JSON.stringify(head.keyId)}` };
  if (!validAt(key, new Date(head.timestamp))) {
    return { ok: false, problem: `tree head of size ${head.treeSize} was signed at ${head.timestamp}, outside the validity of key ${key.keyId}` };
  }
  let valid = false;
  try {
    valid = verify(null, treeHeadSigningBytes(head), key.publicKey, Buffer.from(head.signature, 'base64'));
  } catch {
    valid = false;
  }
  return valid ? { ok: true } : { ok: false, problem: `tree head of size ${head.treeSize} has an invalid signature` };
}

/** What is wrong with a head's form before any signature is looked at, or undefined. */
export function treeHeadFormProblem(head: TreeHead): string | undefined {
  const size = String(head?.treeSize);
  if (!isTreePosition(head?.treeSize)) return `tree head of size ${size} is malformed: its size is not an integer from 0 to 2^53 - 1`;
  if (typeof head.rootHash !== 'string' || !/^[0-9a-f]{64}$/.test(head.rootHash)) {
    return `tree head of size ${size} is malformed: its root is not a hex SHA-256`;
  }
  if (typeof head.signature !== 'string' || typeof head.keyId !== 'string' || typeof head.timestamp !== 'string') {
    return `tree head of size ${size} is malformed`;
  }
  return undefined;
}

const fingerprints = new WeakMap<KeyObject, string>();

/**
 * A key's fingerprint: the lower-case hex SHA-256 of its public key's SPKI DER encoding (a private key gives its public
 * half's). What `audit verify --trust` pins; from a key's `publicKeyPem` it is
 * `openssl pkey -pubin -outform DER | openssl dgst -sha256`, so it can be checked without Countersign.
 */
export function keyFingerprint(key: KeyObject): string {
  let print = fingerprints.get(key);
  if (print === undefined) {
    const spki = (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
    print = createHash('sha256').update(spki).digest('hex');
    fingerprints.set(key, print);
  }
  return print;
}

/** A new Ed25519 tree-head key with its window, and its PEM forms for storage (a `privateKeyFile`, a verifier's `publicKeyPem`). */
export function generateTreeHeadKey(keyId: string, notBefore: Date, notAfter: Date) {
  const { key, privateKeyPem, publicKeyPem } = generateKey(keyId, { notBefore, notAfter });
  return { entry: key, privatePem: privateKeyPem, publicPem: publicKeyPem };
}

/** When to publish a head: every `everyEntries` appends or every `everyMs`, whichever comes first. */
export class TreeHeadPolicy {
  private lastSize = 0;
  private lastAt: number;

  constructor(
    private readonly everyEntries: number,
    private readonly everyMs: number,
    now: Date,
  ) {
    this.lastAt = now.getTime();
  }

  /** Whether entries were added since the last head. */
  uncovered(size: number): boolean {
    return size !== this.lastSize;
  }

  /**
   * Whether a head is due for `size` entries now. A clock that went back since the last head (an NTP step) makes the time
   * since it unknown: due, as if the period had passed. Reckoned as negative, it kept the tail unsigned until enough
   * entries piled up, for as long as the step (clock probe, 2026-12-05: a year, on a quiet home).
   */
  due(size: number, now: Date): boolean {
    if (!this.uncovered(size)) return false;
    const since = now.getTime() - this.lastAt;
    return size - this.lastSize >= this.everyEntries || since >= this.everyMs || since < 0;
  }

  published(size: number, now: Date): void {
    this.lastSize = size;
    this.lastAt = now.getTime();
  }
}
