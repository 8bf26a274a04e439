import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomBytes, sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * What a signed approval says: who approved which action, bound to the action digest, until when.
 * The executor acts on it only after verifying the signature, the action id, the digest and the expiry,
 * and consumes it once.
 */
export interface ApprovalClaims {
  v: 1;
  kid: string;
  actionId: string;
  digest: string;
  approvers: string[];
  reasons: string[];
  issuedAt: string;
  expiresAt: string;
  /** Makes each token unique, so a consumed token can be recognised when it is replayed. */
  nonce: string;
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

/** Public keys by key id, for verification. */
export type VerifyKeys = Map<string, KeyObject>;

const PREFIX = 'cs1';

/** Signs an approval: `cs1.<base64url canonical claims>.<base64url Ed25519 signature>`. */
export function signApproval(key: SigningKey, claims: Omit<ApprovalClaims, 'v' | 'kid' | 'nonce'>): string {
  const full: ApprovalClaims = { v: 1, kid: key.kid, nonce: randomBytes(12).toString('base64url'), ...claims };
  const body = `${PREFIX}.${Buffer.from(canonicalize(full)!).toString('base64url')}`;
  return `${body}.${sign(null, Buffer.from(body), key.privateKey).toString('base64url')}`;
}

export type ApprovalCheck = { ok: true; claims: ApprovalClaims } | { ok: false; reason: string };

/**
 * Verifies the token's form, key id and signature, and its expiry at `now`. Binding to an action
 * (id and digest) is checked by the caller, who knows which action it is about to execute.
 */
export function verifyApproval(token: string, keys: VerifyKeys, now: Date = new Date()): ApprovalCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: 'malformed approval token' };
  let claims: ApprovalClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed approval claims' };
  }
  const key = typeof claims.kid === 'string' ? keys.get(claims.kid) : undefined;
  if (!key) return { ok: false, reason: `unknown approval key id ${JSON.stringify(claims.kid)}` };
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  if (!verify(null, signed, key, Buffer.from(parts[2], 'base64url'))) return { ok: false, reason: 'approval signature does not verify' };
  if (claims.v !== 1 || !claims.actionId || !claims.digest || !Array.isArray(claims.approvers) || !claims.expiresAt) {
    return { ok: false, reason: 'approval claims incomplete' };
  }
  if (!(Date.parse(claims.expiresAt) > now.getTime())) return { ok: false, reason: `approval expired at ${claims.expiresAt}` };
  return { ok: true, claims };
}

/** A fresh Ed25519 signing key (the embedded mode makes one at boot; production loads one from a file). */
export function generateSigningKey(kid: string): { signing: SigningKey; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { signing: { kid, privateKey }, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function signingKeyFromPem(kid: string, pem: string): SigningKey {
  return { kid, privateKey: createPrivateKey(pem) };
}

export function verifyKeysFromPem(byKid: Record<string, string>): VerifyKeys {
  return new Map(Object.entries(byKid).map(([kid, pem]) => [kid, createPublicKey(pem)]));
}
