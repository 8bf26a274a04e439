// Step-up: approving a critical-class action needs a second factor. One rule, read by the decisions (`ApprovalService`,
// whichever path calls it: the inbox or the JSON API) and by the inbox's card (which says so before anyone tries).
import type { Principal } from '@countersign/nest';
import type { ReviewItem } from '../review-item/review-item.repository';

/** The SLA classes whose approval needs a second factor (`amr` includes `mfa`). */
export const STEP_UP_CLASSES: readonly string[] = ['critical'];

/** True when approving `item` needs a second factor. */
export const stepUpRequired = (item: Pick<ReviewItem, 'slaClass'>): boolean => STEP_UP_CLASSES.includes(item.slaClass);

/**
 * How recent a second factor must be to approve such an action: the provider's session keeps a second factor given
 * hours ago, and a browser left signed in (or signed in again silently through the provider's session) must not turn
 * it into critical approvals. Past it, the card's link asks the provider for a fresh one (`prompt=login`).
 */
export const STEP_UP_MAX_AGE_MS = 15 * 60_000;

/**
 * True when `reviewer` signed in with a second factor, at most `STEP_UP_MAX_AGE_MS` before `now` (the ID token's
 * `auth_time`; a session without it has none). A bearer token carries no `amr`: never.
 */
export const hasSecondFactor = (reviewer: Pick<Principal, 'amr' | 'authTime'>, now = new Date()): boolean =>
  (reviewer.amr?.includes('mfa') ?? false) && reviewer.authTime !== undefined && now.getTime() - reviewer.authTime <= STEP_UP_MAX_AGE_MS;

/**
 * Why `reviewer` may not approve `item` for want of a (recent) second factor; undefined when they may. Fail closed: a
 * principal without `amr` (a bearer token), or without the time it signed in, is refused.
 */
export function stepUpRefusal(
  item: Pick<ReviewItem, 'slaClass'>,
  reviewer: Pick<Principal, 'amr' | 'authMethod' | 'authTime'>,
  now = new Date(),
): string | undefined {
  if (!stepUpRequired(item) || hasSecondFactor(reviewer, now)) return undefined;
  if (reviewer.authMethod !== 'oidc')
    return `approving a ${item.slaClass}-class action needs a second factor, which a bearer token cannot show: approve it in the inbox, signed in with a second factor`;
  if (reviewer.amr?.includes('mfa'))
    return (
      `approving a ${item.slaClass}-class action needs a second factor given in the last ${STEP_UP_MAX_AGE_MS / 60_000} minutes, and this session's ` +
      `was given ${reviewer.authTime === undefined ? 'at a time not recorded' : `at ${new Date(reviewer.authTime).toISOString()}`}: verify again (the card links to it), then approve`
    );
  return (
    `approving a ${item.slaClass}-class action needs a second factor, and this session was signed in with ${reviewer.amr?.join(', ') || 'no recorded method'}: ` +
    'verify with a second factor (the card links to it), then approve'
  );
}
