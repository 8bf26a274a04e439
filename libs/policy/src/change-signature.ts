import { sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import { currentKey, ED25519_SIGNATURE, keyById, KeyList, KeyWindow, SigningKey, validAt, VerifyKey } from '@countersign/keys';

/**
 * What the policy engine signs when a second admin approves a contract change (docs/adr/0038): the request, the base
 * and the candidate (version and hash each), who asked, who approved, the change digest they approved, and when. Every
 * service applies a change only with a signature that verifies against its `CONTRACT_VERIFY_KEYS_FILE` and says
 * exactly what the event says: the Kafka credential that may write the topic is not enough to change the policy.
 */
export interface ContractChangeClaims {
  v: 1;
  kid: string;
  changeRequestId: string;
  fromVersion: string;
  fromHash: string;
  toVersion: string;
  toHash: string;
  requestedBy: string;
  approvedBy: string;
  digest: string;
  approvedAt: string;
}

export type { KeyList };

const keysOf = <K extends KeyWindow>(k: KeyList<K>): readonly K[] => (Array.isArray(k) ? k : (k as { keys(): readonly K[] }).keys());

const PREFIX = 'ccs1';

/** The key that would sign a change approved at `at`, or why none would (the approval answers 503 before it is stored). */
export function contractSigningKeyAt(keys: KeyList<SigningKey> | undefined, at: Date): { ok: true; key: SigningKey } | { ok: false; reason: string } {
  const key = keys && currentKey(keysOf(keys), at);
  if (key) return { ok: true, key };
  return {
    ok: false,
    reason: keys
      ? `no contract-change signing key is valid at ${at.toISOString()} (CONTRACT_SIGNING_KEYS_FILE)`
      : 'this policy engine has no contract-change signing key (CONTRACT_SIGNING_KEYS_FILE): no change can be approved',
  };
}

/**
 * Signs an approved change: `ccs1.<base64url canonical claims>.<base64url Ed25519 signature>`. Deterministic (Ed25519,
 * no nonce: the request id is unique), so announcing a decided request again sends the same event.
 */
export function signContractChange(keys: KeyList<SigningKey> | undefined, claims: Omit<ContractChangeClaims, 'v' | 'kid'>): string {
  const at = contractSigningKeyAt(keys, new Date(claims.approvedAt));
  if (!at.ok) throw new Error(at.reason);
  const full: ContractChangeClaims = { v: 1, kid: at.key.keyId, ...claims };
  const body = `${PREFIX}.${Buffer.from(canonicalize(full)!).toString('base64url')}`;
  return `${body}.${sign(null, Buffer.from(body), at.key.privateKey).toString('base64url')}`;
}

const FIELDS = ['changeRequestId', 'fromVersion', 'fromHash', 'toVersion', 'toHash', 'requestedBy', 'approvedBy', 'digest', 'approvedAt'] as const;

/** Verifies a change's signature: its form, key id, signature, claims, and that it was made within its key's window. */
export function verifyContractChange(
  token: unknown,
  keys: KeyList<VerifyKey>,
): { ok: true; claims: ContractChangeClaims; key: VerifyKey } | { ok: false; reason: string } {
  if (typeof token !== 'string') return { ok: false, reason: 'it carries no signature' };
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: 'its signature is malformed' };
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'its signature is malformed' };
  }
  if (typeof raw !== 'object' || raw === null) return { ok: false, reason: 'its signature is malformed' };
  const key = keyById(keys, raw.kid);
  if (!key) return { ok: false, reason: `it is signed with an unknown key ${JSON.stringify(raw.kid)}` };
  if (!ED25519_SIGNATURE.test(parts[2]) || !verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), key.publicKey, Buffer.from(parts[2], 'base64url')))
    return { ok: false, reason: 'its signature does not verify' };
  if (raw.v !== 1 || !FIELDS.every((f) => typeof raw[f] === 'string' && raw[f] !== '')) return { ok: false, reason: 'its signed claims are incomplete' };
  const claims = raw as unknown as ContractChangeClaims;
  if (!validAt(key, new Date(claims.approvedAt))) return { ok: false, reason: `it was signed at ${claims.approvedAt}, outside the window of key ${key.keyId}` };
  return { ok: true, claims, key };
}
