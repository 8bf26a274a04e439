import { ConflictException, ForbiddenException, Inject, Injectable, NotFoundException, Optional } from '@nestjs/common';
import type { Logger } from '@countersign/logging';
import { LOGGER, Principal, TOKEN_REGISTRY, TokenRegistry } from '@countersign/nest';
import { authorRefusal, claimedConflict, overdueConflict } from '../approvals/approval.service';
import { stepUpRefusal } from '../approvals/step-up';
import { claimHolds, overdue, ReviewClaim, ReviewItemRepository } from '../review-item/review-item.repository';
import { REVIEW_ITEMS } from '../tokens';
import { isProposerOf, requireItemRole } from '../review-item/item-roles';
import { withoutRevokedClaim } from '../review-item/revoked-access';

/** How long a claim lasts unless renewed: the inbox renews it every minute while the card stays open. */
export const CLAIM_TTL_MS = 5 * 60_000;

/**
 * How many items one reviewer may hold claimed at once. The inbox works one card at a time (a second tab, or a card
 * left open while another opens, needs a little room); with no cap one reviewer claimed every pending item and kept
 * everyone else out until they expired (red team, 2026-12-05).
 */
export const MAX_CLAIMS_PER_REVIEWER = 3;

/**
 * Claims (leases) on review items, so two reviewers do not work one item: the inbox claims an item when its card opens
 * and renews the claim while it stays open; the JSON API offers the same (`POST /v1/reviews/:id/claim`). A claim is
 * coordination, not a decision: it is logged, not audited on the bus, and a lease that runs out frees the item. While
 * it holds, `ApprovalService` refuses another reviewer's decision (409); an approval towards a quorum ends the
 * approver's claim, and a reviewer who approved already cannot claim the item again (the next approver must be free to).
 * A reviewer holds at most `MAX_CLAIMS_PER_REVIEWER` claims, and never claims again an item that escalated (or was
 * re-routed) while they held it: the clock's event names them (`claimedBy`), and the item is kept for the next tier.
 */
@Injectable()
export class ClaimService {
  constructor(
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(LOGGER) private readonly logger: Logger,
    // Who was taken out of the tokens file while this process runs: their claims hold no one out.
    @Optional() @Inject(TOKEN_REGISTRY) private readonly tokens?: TokenRegistry,
  ) {}

  /** Claims (or renews) the item for `reviewer`; 409 naming the holder when someone else's claim holds. */
  async claim(actionId: string, reviewer: Principal, name = reviewer.id, now = new Date(), ttlMs = CLAIM_TTL_MS): Promise<ReviewClaim> {
    const lease: ReviewClaim = { by: reviewer.id, name, until: new Date(now.getTime() + ttlMs).toISOString() };
    // The common case in one statement: an item this reviewer may claim, free or theirs, and room under the cap (a
    // renewal takes none), counted in that statement (docs/adr/0028: the claims of many reviewers are one batch; a count
    // before and after each claim tripled its statements and cost the claim path 38 %).
    const claimed = await this.items.claimFor(actionId, reviewer, lease, now, MAX_CLAIMS_PER_REVIEWER);
    if (claimed) {
      // A claim keeps the others out: on a critical item, that of someone who could not approve it (no second factor)
      // would only hold up whoever can. Undone at once (rare: the inbox does not claim such items for them).
      const stepUp = stepUpRefusal(claimed, reviewer, now);
      if (stepUp) {
        await this.items.releaseClaim(actionId, reviewer.id);
        throw new ForbiddenException(`claiming this item keeps other reviewers out, and ${stepUp}`);
      }
      return this.claimed(actionId, reviewer, claimed.claim!);
    }
    // Not claimed, nothing changed: the item says why (or, if it changed meanwhile, the claim is tried again).
    const heldBefore = await this.items.claimsHeldBy(reviewer.id, now);
    const renewal = heldBefore.includes(actionId);
    if (!renewal && heldBefore.length >= MAX_CLAIMS_PER_REVIEWER) throw this.overCap(actionId);
    const found = await this.items.get(actionId);
    if (!found) throw new NotFoundException(`no review item for action ${actionId}`);
    // The tenant and the roles first: whether an item is decided is not told to a reviewer who may not work it (red team,
    // 2026-12-04), nor that it exists to one of another tenant (404, ADR 0052).
    requireItemRole(found, reviewer, 'claiming');
    const item = await withoutRevokedClaim(found, this.items, this.tokens, now);
    if ((item.kind ?? 'approval') !== 'approval' || item.status !== 'pending') {
      throw new ConflictException(
        `action ${actionId} is ${item.status === 'pending' ? 'not waiting for approval' : 'already decided'}: there is nothing to claim`,
      );
    }
    // Past its due time: the review clock expires it, whoever claims it (race probe, 2026-12-05: a claim at the due time
    // was taken, and the expiry named its holder).
    if (overdue(item, now)) throw overdueConflict(item);
    if (isProposerOf(reviewer, item)) {
      throw new ForbiddenException('separation of duties: the proposer of an action cannot claim it for review');
    }
    if (item.authoredBy?.includes(reviewer.id)) throw authorRefusal('claim');
    if (item.approvedBy?.includes(reviewer.id)) {
      throw new ConflictException(`you approved action ${actionId} already: the rest of its quorum is for other reviewers`);
    }
    if (item.escalatedClaimants?.includes(reviewer.id)) {
      throw new ConflictException(
        `action ${actionId} escalated while you held its claim: it is for other reviewers to claim now (you may still decide it unclaimed)`,
      );
    }
    const held = await this.items.claim(actionId, lease, now);
    if (!held) throw new ConflictException(`action ${actionId} was decided meanwhile: there is nothing to claim`);
    if (held.by !== reviewer.id) throw claimedConflict({ ...item, claim: held });
    await this.undoOverCap(actionId, reviewer, renewal, now);
    return this.claimed(actionId, reviewer, held);
  }

  private overCap(actionId: string): ConflictException {
    return new ConflictException(
      `you hold ${MAX_CLAIMS_PER_REVIEWER} claims already, the most one reviewer may hold: decide or release one before claiming action ${actionId}`,
    );
  }

  /**
   * The slow path's claim (the one-step claim did not take the item, and it changed meanwhile) is written after a count,
   * which claims racing it may pass too: counted again after the write, a new claim that finds its holder over the cap
   * is undone (fail closed: of claims racing, all may be undone; the reviewer tries again). A renewal is never undone.
   */
  private async undoOverCap(actionId: string, reviewer: Principal, renewal: boolean, now: Date): Promise<void> {
    if (renewal || (await this.items.claimsHeldBy(reviewer.id, now)).length <= MAX_CLAIMS_PER_REVIEWER) return;
    await this.items.releaseClaim(actionId, reviewer.id);
    throw this.overCap(actionId);
  }

  /**
   * Extends `reviewer`'s claim while they hold it (the inbox renews an open card's claim every minute); 409 once it has
   * ended, so an open card never takes back a claim an escalation or a re-route ended, or one that ran out (red team,
   * 2026-12-04: the open card of the first tier re-claimed an escalated item, and the next tier was kept out again).
   */
  async renew(actionId: string, reviewer: Principal, name = reviewer.id, now = new Date(), ttlMs = CLAIM_TTL_MS): Promise<ReviewClaim> {
    const item = await this.items.get(actionId);
    if (!item) throw new NotFoundException(`no review item for action ${actionId}`);
    requireItemRole(item, reviewer, 'claiming');
    if (!claimHolds(item.claim, now) || item.claim.by !== reviewer.id) {
      throw new ConflictException(`your claim on action ${actionId} has ended (released, run out, or the item escalated): open its card again to claim it`);
    }
    return this.claim(actionId, reviewer, name, now, ttlMs);
  }

  private claimed(actionId: string, reviewer: Principal, held: ReviewClaim): ReviewClaim {
    this.logger.info({ actionId, reviewer: reviewer.id, until: held.until }, 'review item claimed');
    return held;
  }

  /**
   * Ends every claim `reviewer` holds: their sign-out from the inbox. The page's own release on leaving is sent after
   * the session has ended, and was refused, so the items stayed held for up to five minutes (red team, 2026-12-08).
   */
  async releaseAll(reviewer: Principal, now = new Date()): Promise<string[]> {
    const held = await this.items.claimsHeldBy(reviewer.id, now);
    const released: string[] = [];
    for (const actionId of held) if ((await this.release(actionId, reviewer)).released) released.push(actionId);
    return released;
  }

  /** Ends `reviewer`'s claim on the item, if they hold one. */
  async release(actionId: string, reviewer: Principal): Promise<{ released: boolean }> {
    const released = await this.items.releaseClaim(actionId, reviewer.id);
    if (released) this.logger.info({ actionId, reviewer: reviewer.id }, 'review item claim released');
    return { released };
  }
}

/**
 * What a release answers, documented once for both routes (the JSON API's and the inbox's): the same answer for an item
 * the caller holds no claim on, whatever it is (unknown, decided, another tenant's, another reviewer's), so
 * `released: false` tells nothing of it (red team, 2026-12-07: both documented a 404 they never gave).
 */
export const RELEASE_ANSWER = {
  description: "The caller's claim is released (`released: true`); `released: false` when the caller held none on it, whatever the item",
  schema: {
    type: 'object',
    required: ['actionId', 'released'],
    properties: { actionId: { type: 'string' }, released: { type: 'boolean' } },
  },
};
