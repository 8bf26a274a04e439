import type { ReviewItem } from './review-item.repository';

/** How a policy decision routes an action to review (`policy.decided`'s `review`, from the contract). */
export interface ReviewRouting {
  slaClass: string;
  requiredRoles: string[];
  quorum: number;
  slaSeconds: number;
  whenUnavailable?: 'fail-closed' | { fallback: string };
  /** When the item escalates (a share of its SLA) and the roles it then gains. */
  escalation?: { atShare: number; to: string[] };
}

export type RoutedFields = Pick<
  ReviewItem,
  'slaClass' | 'requiredRoles' | 'quorum' | 'createdAt' | 'dueAt' | 'slaSeconds' | 'escalateAt' | 'escalateTo' | 'fallbackTeam'
>;

/**
 * An item's routing and the times the review clock acts on (`review-clock/`), queued at `now`: due at the end of its
 * SLA, escalating at the contract's share of it, re-routed once to its fallback team at the due time. An audit sample
 * (`clock: false`) has no clock: its action ran already.
 */
export function routedAt(review: ReviewRouting, now: Date, clock = true): RoutedFields {
  const slaMs = review.slaSeconds * 1000;
  const escalation = clock && review.escalation;
  const fallback = clock && review.whenUnavailable;
  return {
    slaClass: review.slaClass,
    requiredRoles: review.requiredRoles,
    quorum: review.quorum,
    createdAt: now.toISOString(),
    dueAt: new Date(now.getTime() + slaMs).toISOString(),
    slaSeconds: review.slaSeconds,
    ...(escalation && {
      escalateAt: new Date(now.getTime() + Math.round(slaMs * escalation.atShare)).toISOString(),
      ...(escalation.to.length > 0 && { escalateTo: escalation.to }),
    }),
    ...(fallback && typeof fallback === 'object' && { fallbackTeam: fallback.fallback }),
  };
}
