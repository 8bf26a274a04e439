import type { TokenRegistry } from '@countersign/nest';
import { claimHolds, ReviewItem, ReviewItemRepository } from '../review-item/review-item.repository';

/**
 * `item` with the claim of someone taken out of the tokens file since this process started ended, in the store too: it
 * would keep every other reviewer out until it ran out (revocation probe, 2026-12-05: a removed reviewer's claim held
 * their colleagues' decisions back 409 for five minutes, and no one could break it). Any other claim is left as it is.
 */
export async function withoutRevokedClaim<T extends ReviewItem>(
  item: T,
  items: ReviewItemRepository,
  tokens: TokenRegistry | undefined,
  now: Date,
): Promise<T> {
  if (!tokens || !claimHolds(item.claim, now) || !tokens.wasRemoved(item.claim.by)) return item;
  await items.releaseClaim(item.actionId, item.claim.by);
  return { ...item, claim: undefined };
}
