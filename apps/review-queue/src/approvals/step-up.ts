// Step-up: approving a critical-class action needs a second factor. One rule, read by the decisions (`ApprovalService`,
// whichever path calls it: the inbox or the JSON API) and by the inbox's card (which says so before anyone tries).
import type { Principal } from '@countersign/nest';
import type { ReviewItem } from '../review-item/review-item.repository';

/** The SLA classes whose approval needs a second factor (`amr` includes `mfa`). */
export const STEP_UP_CLASSES: readonly string[] = ['critical'];

/** True when approving `item` needs a second factor. */
export const stepUpRequired = (item: Pick<ReviewItem, 'slaClass'>): boolean => STEP_UP_CLASSES.includes(item.slaClass);

/** True when `reviewer` signed in with a second factor. A bearer token carries no `amr`: never. */
export const hasSecondFactor = (reviewer: Pick<Principal, 'amr'>): boolean => reviewer.amr?.includes('mfa') ?? false;

/**
 * Why `reviewer` may not approve `item` for want of a second factor; undefined when they may. Fail closed: a principal
 * without `amr` (a bearer token) is refused.
 */
export function stepUpRefusal(item: Pick<ReviewItem, 'slaClass'>, reviewer: Pick<Principal, 'amr' | 'authMethod'>): string | undefined {
  if (!stepUpRequired(item) || hasSecondFactor(reviewer)) return undefined;
  return reviewer.authMethod === 'oidc'
    ? `approving a ${item.slaClass}-class action needs a second factor, and this session was signed in with ${reviewer.amr?.join(', ') || 'no recorded method'}: ` +
        'verify with a second factor (the card links to it), then approve'
    : `approving a ${item.slaClass}-class action needs a second factor, which a bearer token cannot show: approve it in the inbox, signed in with a second factor`;
}
