import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { identifierString } from './text';

/**
 * Who caused an event: an AI agent, a human (reviewer, admin, auditor) or a Countersign service.
 * `authMethod` says how the identity was established: a bearer token, an OpenID Connect sign-in (`oidc`: a reviewer's
 * inbox session), an Ed25519 signature over the event
 * (`signature`, proposals produced straight to Kafka: docs/adr/0008), the bus itself, or not at all.
 */
export const ActorSchema = z.object({
  id: identifierString(200),
  kind: z.enum(['agent', 'human', 'service']),
  roles: z.array(identifierString(64)).max(32).optional(),
  authMethod: z.enum(['bearer-token', 'oidc', 'signature', 'kafka', 'service', 'none']).optional(),
  /** How a signed-in person proved who they are (the ID token's `amr`: `pwd`, `mfa`, …), where a decision depends on it. */
  amr: z.array(identifierString(32)).max(8).optional(),
  /** When that person authenticated (ms since the epoch, the ID token's `auth_time`), where a decision needs it recent. */
  authTime: z.number().int().nonnegative().optional(),
});
/** The identity behind an event. */
export type Actor = z.infer<typeof ActorSchema>;

/** Upper bound on one serialized event; larger ones are refused on publish and dead-lettered on consume. */
export const MAX_EVENT_BYTES = 256 * 1024;

/**
 * The event envelope, with CloudEvents field names. `subject` is the action id and the Kafka key,
 * so all events of one action stay in order on one partition.
 */
export const envelopeSchema = <TType extends string, T extends z.ZodTypeAny>(type: TType, version: number, data: T) =>
  z.object({
    id: identifierString(100),
    type: z.literal(type),
    version: z.literal(version),
    source: identifierString(200),
    time: z.iso.datetime({ offset: true }),
    subject: identifierString(200),
    correlationId: identifierString(200),
    causationId: identifierString(200).nullable(),
    actor: ActorSchema,
    data,
  });

/** An event as it travels on the bus. */
export interface Envelope<TType extends string = string, TData = unknown> {
  id: string;
  type: TType;
  version: number;
  source: string;
  time: string;
  subject: string;
  correlationId: string;
  causationId: string | null;
  actor: Actor;
  data: TData;
}

/**
 * A deterministic event id for an event derived from another one. A service that handles the same
 * input twice (redelivery) emits the same id, so every consumer downstream can drop the duplicate.
 */
export function derivedEventId(type: string, causationId: string, discriminator = ''): string {
  const h = createHash('sha256').update(`${type}\u0000${causationId}\u0000${discriminator}`).digest('hex');
  // Shaped as a UUID (version nibble 5 as in name-based UUIDs) so logs and tools treat it as one.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A fresh random id, for events that start a chain (a proposal) and for action ids. */
export const newId = (): string => randomUUID();
