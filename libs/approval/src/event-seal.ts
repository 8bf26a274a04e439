import { sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import { canonicalDigest } from '@countersign/contracts';
import { ED25519_SIGNATURE, keyById, validAt, VerifyKey, verifyKeyOf } from '@countersign/keys';
import { DecisionSigner, KeySource, signingKeyAt, signingKeysOf, SigningUnavailableError, VerifyKeys } from './index';

/**
 * An event sealed by the service that publishes it, so that the Kafka credential that may write its topic is not
 * enough to state it: the control facts the review queue publishes with its review-decision key (trust health, the
 * degradation mode, the degradation override; docs/adr/0039) and the policy engine's decisions with its decision key
 * (docs/adr/0040). A consumer acts only on an event whose seal verifies and names exactly this event (type, id, time,
 * subject, actor and data). Red team 2026-12-02 (F5-2): with the review queue's certificate alone, a hand-made override
 * "confirmed" by nobody set the mode to `normal`; (F5-3) with the policy engine's, a hand-made autonomous decision ran
 * past the autonomy level and the rate limits.
 */
export interface EventSealClaims {
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
  return canonicalDigest({ actor: e.actor, data });
}

/**
 * The seal of `event` (`cf1.<base64url canonical claims>.<base64url Ed25519 signature>`), by the newest of `signer`'s
 * keys valid at the event's time; `SigningUnavailableError` when none is (nothing is published: fail closed).
 */
export function sealEvent(signer: DecisionSigner, event: SealableEvent, keyName = 'review-decision'): string {
  const at = signingKeyAt(signer, new Date(event.time));
  if (!at.ok) throw new SigningUnavailableError(at.reason.replace('review-decision', keyName));
  const claims: EventSealClaims = {
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

/** Who seals an event, for the reasons a refusal gives: the publisher's name and the setting that lists its public keys. */
export interface SealPublisher {
  name: string;
  keysSetting: string;
}

/** The review queue's control facts (docs/adr/0039). */
export const REVIEW_QUEUE_SEAL: SealPublisher = { name: 'the review queue', keysSetting: 'APPROVAL_VERIFY_KEYS_FILE' };
/** The policy engine's decisions (docs/adr/0040). */
export const POLICY_ENGINE_SEAL: SealPublisher = { name: 'the policy engine', keysSetting: 'DECISION_VERIFY_KEYS_FILE' };
/** The executor's outcomes (docs/adr/0042). */
export const EXECUTOR_SEAL: SealPublisher = { name: 'the executor', keysSetting: 'OUTCOME_VERIFY_KEYS_FILE' };

/**
 * Whether `event` carries its publisher's genuine seal of itself: the seal's form, key id and signature, a key valid at
 * the event's time, and claims that name this very event (a seal moved to another event, or an event changed after
 * sealing, does not verify). Why not, when it does not.
 */
export function verifyEventSeal(
  event: SealableEvent,
  keys: VerifyKeys | undefined,
  publisher: SealPublisher = REVIEW_QUEUE_SEAL,
): { ok: true } | { ok: false; reason: string } {
  const seal = event.data?.seal;
  if (typeof seal !== 'string') return { ok: false, reason: `${event.type} ${event.id} is not sealed by ${publisher.name}` };
  const parts = seal.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: `${event.type} ${event.id}: malformed seal` };
  let claims: Partial<EventSealClaims>;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: `${event.type} ${event.id}: malformed seal claims` };
  }
  const known: readonly VerifyKey[] = !keys ? [] : Array.isArray(keys) ? keys : (keys as KeySource<VerifyKey>).keys();
  if (!known.length)
    return { ok: false, reason: `no verify keys of ${publisher.name} are configured (${publisher.keysSetting}): ${event.type} ${event.id} not applied` };
  const key = keyById(keys!, claims?.kid);
  if (!key) return { ok: false, reason: `${event.type} ${event.id}: sealed with unknown key id ${JSON.stringify(claims?.kid)}` };
  if (!ED25519_SIGNATURE.test(parts[2]) || !verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), key.publicKey, Buffer.from(parts[2], 'base64url')))
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
