import { randomFillSync, sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import { ALWAYS, currentKey, ED25519_SIGNATURE, generateKey, keyById, KeyWindow, SigningKey, validAt, VerifyKey } from '@countersign/keys';

/**
 * What a review can decide. Each decision is signed; consumers act on none that does not verify. `happened` and
 * `not-happened` answer an outcome check ("did this action take effect?"), never a review of a proposal: a token
 * of either cannot pass for an approval.
 */
export const REVIEW_DECISIONS = ['approved', 'rejected', 'expired', 'escalated', 'happened', 'not-happened', 'revised'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

/**
 * What a signed review decision says: which decision, on which action, bound to the action digest, by
 * whom. A consumer acts on it only after verifying the signature, the decision, the action id and the
 * digest. An approval also expires and is consumed once; a rejection, expiry, revision (approved with changes: the
 * action is replaced by a new one, docs/adr/0017) or escalation is final or neutral, so it needs no expiry.
 */
export interface ReviewDecisionClaims {
  v: 2;
  kid: string;
  decision: ReviewDecision;
  actionId: string;
  digest: string;
  /** The approvers of an approval, the reviewer of a rejection, the review queue for an expiry. */
  deciders: string[];
  reasons: string[];
  issuedAt: string;
  /** Required for an approval. */
  expiresAt?: string;
  /** Makes each token unique, so a consumed approval can be recognised when it is replayed. */
  nonce: string;
  /**
   * A revision's new version (approve with changes, docs/adr/0017), bound by the signature: the orchestrator creates the
   * new action only from a revision whose token names exactly this (red team 2026-12-02: a forged revision ran as any
   * agent of any tenant).
   */
  revision?: RevisionClaims;
}

/** What a `revised` decision creates: the new action's id, the digest of its proposal, its proposer and contract version. */
export interface RevisionClaims {
  newActionId: string;
  revisedDigest: string;
  proposerPrincipal: string;
  contractVersion: string;
}

/** The claims of an approval: an expiring decision `approved`. */
export type ApprovalClaims = ReviewDecisionClaims & { decision: 'approved'; expiresAt: string };

/**
 * What the review queue signs with: its keys (`APPROVAL_SIGNING_KEYS_FILE`, loaded by `loadSigningKeys` of
 * `@countersign/keys`), of which the newest valid at the decision's `issuedAt` signs, or one key. A key outside its
 * window signs nothing: signing then fails (closed) with `SigningUnavailableError`.
 */
export type DecisionSigner = SigningKey | readonly SigningKey[] | KeySource<SigningKey>;

/** The public keys that verify review decisions (`APPROVAL_VERIFY_KEYS_FILE`, loaded by `loadVerifyKeys`), or a watched file of them. */
export type VerifyKeys = readonly VerifyKey[] | KeySource<VerifyKey>;

/** Keys read again when their file changes (`KeyFileWatcher` of `@countersign/keys`): a rotation needs no restart. */
export interface KeySource<K> {
  keys(): readonly K[];
  /** Looks at the file again now (`keyById`: a key id none of its keys has may have just been added). */
  lookAgain?(): readonly K[];
}

// An array has a `keys()` of its own (its indexes): only a non-array with `keys()` is a source.
const isSource = <K>(k: unknown): k is KeySource<K> => !Array.isArray(k) && typeof (k as KeySource<K>)?.keys === 'function';

/** The keys a signer holds now (a watched file is looked at again). */
export function signingKeysOf(signer: DecisionSigner): readonly SigningKey[] {
  if (isSource<SigningKey>(signer)) return signer.keys();
  return Array.isArray(signer) ? signer : [signer as SigningKey];
}

/** The key that would sign a decision issued at `at`, or why none would (the caller answers 503 before storing anything). */
export function signingKeyAt(signer: DecisionSigner, at: Date): { ok: true; key: SigningKey } | { ok: false; reason: string } {
  const keys = signingKeysOf(signer);
  const key = currentKey(keys, at);
  return key
    ? { ok: true, key }
    : { ok: false, reason: `no review-decision signing key is valid at ${at.toISOString()}: ${keys.map(window).join(', ') || 'none configured'}` };
}

/** No review-decision signing key is valid at the decision's time: nothing is signed. */
export class SigningUnavailableError extends Error {}

const window = (k: KeyWindow) => `${k.keyId} (valid ${k.notBefore.toISOString()} to ${k.notAfter.toISOString()})`;

const PREFIX = 'cs1';

/** How long a signed approval stays valid for the executor: the review queue signs it for this long, and no longer verifies. */
export const APPROVAL_TTL_MS = 60 * 60 * 1000;

/**
 * How long a decision without an expiry (a revision, an outcome-check answer) is acted on after it was issued: its
 * consumers act within seconds; a token dated further back was signed by a key dated back (a retired one).
 */
export const DECISION_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** Why `claims` were issued too long ago to act on now (`DECISION_MAX_AGE_MS`), or undefined. */
export function issuedTooLongAgo(claims: Pick<ReviewDecisionClaims, 'issuedAt'>, now: Date, maxAgeMs = DECISION_MAX_AGE_MS): string | undefined {
  const age = now.getTime() - Date.parse(claims.issuedAt);
  return age > maxAgeMs ? `the decision was issued at ${claims.issuedAt}, more than ${maxAgeMs / 3_600_000} h ago: not acted on` : undefined;
}

/**
 * Each token's 96-bit nonce, drawn from one buffer the CSPRNG fills for 512 tokens at a time (as Node's randomUUID
 * does): a call into the CSPRNG per token cost about as much as the signature's canonical form.
 */
const NONCE_BYTES = 12;
const NONCES_PER_FILL = 512;
const nonces = Buffer.alloc(NONCE_BYTES * NONCES_PER_FILL);
let noncesUsed = NONCES_PER_FILL;
function nonce(): string {
  if (noncesUsed === NONCES_PER_FILL) {
    randomFillSync(nonces);
    noncesUsed = 0;
  }
  const start = NONCE_BYTES * noncesUsed++;
  return nonces.subarray(start, start + NONCE_BYTES).toString('base64url');
}

/** Signs a review decision: `cs1.<base64url canonical claims>.<base64url Ed25519 signature>`. */
export function signReviewDecision(signer: DecisionSigner, claims: Omit<ReviewDecisionClaims, 'v' | 'kid' | 'nonce'>): string {
  if (claims.decision === 'approved' && !claims.expiresAt) throw new Error('an approval must expire: expiresAt is required');
  const at = signingKeyAt(signer, new Date(claims.issuedAt));
  if (!at.ok) throw new SigningUnavailableError(at.reason);
  const key = at.key;
  const full: ReviewDecisionClaims = { v: 2, kid: key.keyId, nonce: nonce(), ...claims };
  const body = `${PREFIX}.${Buffer.from(canonicalize(full)!).toString('base64url')}`;
  return `${body}.${sign(null, Buffer.from(body), key.privateKey).toString('base64url')}`;
}

/** Signs an approval (a review decision `approved`); kept for callers that name approvers. */
export function signApproval(
  signer: DecisionSigner,
  claims: { actionId: string; digest: string; approvers: string[]; reasons: string[]; issuedAt: string; expiresAt: string },
): string {
  const { approvers, ...rest } = claims;
  return signReviewDecision(signer, { ...rest, decision: 'approved', deciders: approvers });
}

/**
 * A failed check says why; when the token is genuine and only its time ran out, `expired` carries its claims, so the
 * caller can close what it authorised instead of treating it as forged.
 */
export type ReviewDecisionCheck = { ok: true; claims: ReviewDecisionClaims } | { ok: false; reason: string; expired?: ReviewDecisionClaims };
export type ApprovalCheck = { ok: true; claims: ApprovalClaims } | { ok: false; reason: string };

/**
 * Verifies the token's form, key id and signature, its claims, that it was issued within its key's window, and (when
 * it has one) its expiry at `now`.
 * Whether it is the decision, action id and digest the caller is about to act on is the caller's check.
 * A `v: 1` token (from before decisions other than approvals were signed) is read as the approval it was.
 */
export function verifyReviewDecision(token: string, keys: VerifyKeys, now: Date = new Date()): ReviewDecisionCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: 'malformed review decision token' };
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed review decision claims' };
  }
  if (typeof raw !== 'object' || raw === null) return { ok: false, reason: 'malformed review decision claims' };
  const key = keyById(keys, raw.kid);
  if (!key) return { ok: false, reason: `unknown signing key id ${JSON.stringify(raw.kid)}` };
  if (!ED25519_SIGNATURE.test(parts[2]) || !verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), key.publicKey, Buffer.from(parts[2], 'base64url')))
    return { ok: false, reason: 'review decision signature does not verify' };
  const claims = raw.v === 1 ? { ...raw, v: 2, decision: 'approved', deciders: raw.approvers } : raw;
  if (!complete(claims)) return { ok: false, reason: 'review decision claims incomplete' };
  const issued = Date.parse(claims.issuedAt);
  if (!Number.isFinite(issued)) return { ok: false, reason: `review decision issued at ${JSON.stringify(claims.issuedAt)}: not a time` };
  if (!validAt(key, new Date(issued)))
    return { ok: false, reason: `review decision issued at ${String(claims.issuedAt)}, outside the window of key ${window(key)}` };
  // The key's window is read at the time the token states, which its signer chose: a key retired since (or leaked
  // from a backup) could otherwise sign a token dated back into its window, valid until whenever it said (trust probe,
  // 2026-12-05: a key of 2020–2021 signed an approval "issued" in 2020 "expiring" in 2030, and it verified). An approval
  // lives at most APPROVAL_TTL_MS: with its expiry still ahead, it was issued within the last hour, so only a key valid
  // then can have signed it. (A date ahead needs a key valid then: not a retired one. Refusing it would only turn a
  // clock running ahead into forgeries.) Decisions without an expiry are bounded by their consumers (`issuedWithin`).
  if (claims.expiresAt !== undefined) {
    const expires = Date.parse(claims.expiresAt);
    if (!Number.isFinite(expires) || expires - issued > APPROVAL_TTL_MS)
      return {
        ok: false,
        reason: `review decision valid from ${claims.issuedAt} to ${claims.expiresAt}: longer than an approval lives (${APPROVAL_TTL_MS / 60_000} min)`,
      };
    if (!(expires > now.getTime())) return { ok: false, reason: `review decision expired at ${claims.expiresAt}`, expired: claims };
  }
  return { ok: true, claims };
}

/** Verifies a token as an approval: a review decision that verifies and says `approved`. */
export function verifyApproval(token: string, keys: VerifyKeys, now: Date = new Date()): ApprovalCheck {
  const check = verifyReviewDecision(token, keys, now);
  if (!check.ok) return check;
  if (check.claims.decision !== 'approved') return { ok: false, reason: `the token signs a decision "${check.claims.decision}", not an approval` };
  return check as ApprovalCheck;
}

function complete(c: Record<string, unknown>): c is ReviewDecisionClaims & Record<string, unknown> {
  const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
  return (
    c.v === 2 &&
    (REVIEW_DECISIONS as readonly unknown[]).includes(c.decision) &&
    typeof c.actionId === 'string' &&
    c.actionId !== '' &&
    typeof c.digest === 'string' &&
    c.digest !== '' &&
    strings(c.deciders) &&
    (c.deciders as string[]).length > 0 &&
    strings(c.reasons) &&
    typeof c.nonce === 'string' &&
    (c.expiresAt === undefined ? c.decision !== 'approved' : typeof c.expiresAt === 'string') &&
    (c.revision === undefined || (c.decision === 'revised' && revisionClaims(c.revision)))
  );
}

const revisionClaims = (r: unknown): r is RevisionClaims =>
  typeof r === 'object' &&
  r !== null &&
  (['newActionId', 'revisedDigest', 'proposerPrincipal', 'contractVersion'] as const).every(
    (k) => typeof (r as Record<string, unknown>)[k] === 'string' && (r as Record<string, unknown>)[k] !== '',
  );

/**
 * Whether `token` is the review queue's genuine signature of `decision` on `actionId` bound to `digest`, for a reader
 * that records what was decided rather than acting on it (the orchestrator's timeline): an approval that has expired
 * since is still the decision that was made. The claims, or why not.
 */
export function genuineDecision(
  token: string | undefined,
  expected: { decision: ReviewDecision; actionId: string; digest: string },
  keys: VerifyKeys,
  now: Date = new Date(),
): { ok: true; claims: ReviewDecisionClaims } | { ok: false; reason: string } {
  if (!token) return { ok: false, reason: `${expected.decision} without a signed decision token` };
  const verified = verifyReviewDecision(token, keys, now);
  const claims = verified.ok ? verified.claims : verified.expired;
  if (!claims) return { ok: false, reason: (verified as { reason: string }).reason };
  if (claims.decision !== expected.decision)
    return { ok: false, reason: `the token signs a decision "${claims.decision}", the event says "${expected.decision}"` };
  if (claims.actionId !== expected.actionId) return { ok: false, reason: `the decision names action ${claims.actionId}, not ${expected.actionId}` };
  if (claims.digest !== expected.digest) return { ok: false, reason: 'the decision is bound to another version of the action (digest mismatch)' };
  return { ok: true, claims };
}

/**
 * A fresh Ed25519 review-decision key (the embedded mode makes one at boot, tests make theirs), valid always unless
 * given a window; production loads its keys from files (`loadSigningKeys`, `loadVerifyKeys` of `@countersign/keys`).
 */
export function generateSigningKey(keyId: string, validity: Pick<KeyWindow, 'notBefore' | 'notAfter'> = ALWAYS) {
  const { key, verifyKey, publicKeyPem } = generateKey(keyId, validity);
  return { signing: key, verifyKey, publicKeyPem };
}

export * from './event-seal';
export * from './revision-check';
