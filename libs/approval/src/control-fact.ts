import { createHash, sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import { validAt, VerifyKey, verifyKeyOf } from '@countersign/keys';
import { DecisionSigner, KeySource, signingKeyAt, signingKeysOf, SigningUnavailableError, VerifyKeys } from './index';

/**
 * A control fact: an event on a control topic that loosens or tightens what runs without review, published by the review
 * queue (trust health, the degradation mode, the degradation override; docs/adr/0039). The Kafka credential that may
 * write such a topic is not enough to state one: the review queue seals each with its review-decision key, and a
 * follower applies only an event whose seal verifies and names exactly this event (type, id, time, subject, actor and
 * data). Red team 2026-12-02 (F5-2): with the review queue's certificate alone, a hand-made override "confirmed" by
 * nobody set the mode to `normal`, and a hand-made trust verdict `healthy` counted until the monitor's next check.
 */
export interface ControlFactClaims {
  v: 1;
  kid: string;
  type: string;
  eventId: string;
  subject: string;
  time: string;
  /** SHA-256 (hex) of the RFC 8785 canonical JSON of the event's actor and its data without the seal. */
  digest: string;
}

/** The parts of an event its seal covers (an envelope of `@countersign/contracts`, whose data has an optional `seal`). */
export interface SealableEvent {
  id: string;
  type: string;
  time: string;
  subject: string;
  actor: unknown;
  data: { seal?: string } & object;
}

const PREFIX = 'cf1';

/** The verify keys of a signer's keys, read again at each use (a watched signing-keys file): how the review queue checks its own facts. */
export const verifyKeysOfSigner = (signer: DecisionSigner): KeySource<VerifyKey> => ({ keys: () => signingKeysOf(signer).map(verifyKeyOf) });

function digestOf(e: SealableEvent): string {
  const { seal: _seal, ...data } = e.data;
  return createHash('sha256')
    .update(canonicalize({ actor: e.actor, data })!)
    .digest('hex');
}

/**
 * The seal of `event` (`cf1.<base64url canonical claims>.<base64url Ed25519 signature>`), by the newest key valid at the
 * event's time; `SigningUnavailableError` when none is (nothing is published: fail closed).
 */
export function sealControlFact(signer: DecisionSigner, event: SealableEvent): string {
  const at = signingKeyAt(signer, new Date(event.time));
  if (!at.ok) throw new SigningUnavailableError(at.reason);
  const claims: ControlFactClaims = {
    v: 1,
    kid: at.key.keyId,
    type: event.type,
    eventId: event.id,
    subject: event.subject,
    time: event.time,
    digest: digestOf(event),
  };
  const body = `${PREFIX}.${Buffer.from(canonicalize(claims)!).toString('base64url')}`;
  return `${body}.${sign(null, Buffer.from(body), at.key.privateKey).toString('base64url')}`;
}

/**
 * Whether `event` carries the review queue's genuine seal of itself: the seal's form, key id and signature, a key valid
 * at the event's time, and claims that name this very event (a seal moved to another event, or an event changed after
 * sealing, does not verify). Why not, when it does not.
 */
export function verifyControlFact(event: SealableEvent, keys: VerifyKeys | undefined): { ok: true } | { ok: false; reason: string } {
  const seal = event.data?.seal;
  if (typeof seal !== 'string') return { ok: false, reason: `${event.type} ${event.id} is not sealed by the review queue` };
  const parts = seal.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: `${event.type} ${event.id}: malformed seal` };
  let claims: Partial<ControlFactClaims>;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: `${event.type} ${event.id}: malformed seal claims` };
  }
  const known: readonly VerifyKey[] = !keys ? [] : Array.isArray(keys) ? keys : (keys as KeySource<VerifyKey>).keys();
  if (!known.length)
    return { ok: false, reason: `no review-queue verify keys are configured (APPROVAL_VERIFY_KEYS_FILE): ${event.type} ${event.id} not applied` };
  const key = typeof claims?.kid === 'string' ? known.find((k) => k.keyId === claims.kid) : undefined;
  if (!key) return { ok: false, reason: `${event.type} ${event.id}: sealed with unknown key id ${JSON.stringify(claims?.kid)}` };
  if (!verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), key.publicKey, Buffer.from(parts[2], 'base64url')))
    return { ok: false, reason: `${event.type} ${event.id}: the seal's signature does not verify` };
  if (claims.v !== 1) return { ok: false, reason: `${event.type} ${event.id}: unknown seal version ${JSON.stringify(claims.v)}` };
  for (const [name, expected] of [
    ['type', event.type],
    ['eventId', event.id],
    ['subject', event.subject],
    ['time', event.time],
  ] as const)
    if (claims[name] !== expected)
      return { ok: false, reason: `${event.type} ${event.id}: the seal names ${name} ${JSON.stringify(claims[name])}, the event ${JSON.stringify(expected)}` };
  if (!validAt(key, new Date(event.time)))
    return { ok: false, reason: `${event.type} ${event.id}: stamped ${event.time}, outside the window of key ${key.keyId}` };
  if (claims.digest !== digestOf(event)) return { ok: false, reason: `${event.type} ${event.id}: the event's actor or data differ from what was sealed` };
  return { ok: true };
}
