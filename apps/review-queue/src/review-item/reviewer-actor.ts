import { Actor, ActorSchema } from '@countersign/contracts';
import type { Principal } from '@countersign/nest';

/** One `amr` value as an actor may carry it (the envelope's schema). */
const AMR_VALUE = ActorSchema.shape.amr.unwrap().element;
/** How many `amr` values an actor carries at most (`ActorSchema`'s `.max(8)`). */
const MAX_AMR = 8;

/**
 * A reviewer as the actor of an event they cause (a decision, an approval, a revision, a reveal): their roles, how
 * they signed in, and when (a step-up for a critical item depends on it). A bearer token is what a principal without
 * `authMethod` used. An `amr` value the envelope cannot carry (the provider's own spelling) is left out, `mfa` first
 * kept: an event its schema refuses would hold the decision's event in the outbox for ever.
 */
export const reviewerActor = (reviewer: Principal): Actor => {
  const amr = reviewer.amr && [...new Set(reviewer.amr)].filter((m) => AMR_VALUE.safeParse(m).success);
  return {
    id: reviewer.id,
    kind: 'human',
    roles: reviewer.roles,
    authMethod: reviewer.authMethod ?? 'bearer-token',
    ...(amr && { amr: amr.length > MAX_AMR && amr.includes('mfa') ? ['mfa', ...amr.filter((m) => m !== 'mfa')].slice(0, MAX_AMR) : amr.slice(0, MAX_AMR) }),
    ...(reviewer.authTime !== undefined && { authTime: reviewer.authTime }),
  };
};
