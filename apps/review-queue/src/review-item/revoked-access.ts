import { ConflictException } from '@nestjs/common';
import type { TokenRegistry } from '@countersign/nest';
import { claimHolds, ReviewItem, ReviewItemRepository } from './review-item.repository';

/**
 * `item` with the claim of someone taken out of the tokens file ended, in the store too (`TokenRegistry.wasRemoved`,
 * kept across restarts by principal-roster/): it would keep every other reviewer out until it ran out (revocation probe, 2026-12-05: a removed reviewer's claim held
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

/**
 * Refuses to approve (or approve with changes, or carry a reviser's approval to) an action whose proposer was taken out
 * of the tokens file: an agent whose access was revoked (compromised, retired) has its queued work decided by no one's
 * approval; it is rejected, or expires (revocation probe, 2026-12-05: a removed agent's refund was approved and executed).
 */
export function requireProposerKept(item: ReviewItem, tokens: TokenRegistry | undefined): void {
  const proposer = item.proposerPrincipal;
  if (proposer && tokens?.wasRemoved(proposer))
    throw new ConflictException(
      `action ${item.actionId} cannot be approved: ${proposer}, who proposed it, has since been taken out of the tokens file; reject it, or let it expire`,
    );
}
