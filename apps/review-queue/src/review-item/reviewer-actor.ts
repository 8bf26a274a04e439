import type { Actor } from '@countersign/contracts';
import type { Principal } from '@countersign/nest';

/**
 * A reviewer as the actor of an event they cause (an approval, a revision): their roles, how they signed in, and when
 * (a step-up for a critical item depends on it). A bearer token is what a principal without `authMethod` used.
 */
export const reviewerActor = (reviewer: Principal): Actor => ({
  id: reviewer.id,
  kind: 'human',
  roles: reviewer.roles,
  authMethod: reviewer.authMethod ?? 'bearer-token',
  ...(reviewer.amr && { amr: reviewer.amr }),
  ...(reviewer.authTime !== undefined && { authTime: reviewer.authTime }),
});
