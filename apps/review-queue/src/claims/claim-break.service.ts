import { ConflictException, Inject, Injectable } from '@nestjs/common';
import type { EventBus } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { EVENT_BUS, LOGGER, Principal } from '@countersign/nest';
import { claimHolds, queuedBy, ReviewClaim, ReviewItemRepository } from '../review-item/review-item.repository';
import { reviewerActor } from '../review-item/reviewer-actor';
import { unknownItem, withinTenants } from '../review-item/item-roles';
import { REVIEW_ITEMS } from '../tokens';

/**
 * A lead ends another reviewer's claim on a pending item (`POST /v1/reviews/:id/claim/break`): the reviewer left its card
 * open and went away, and the item should not wait for their lease to run out (an open card renews it every minute). Unlike
 * a claim, which is coordination, this overrides a person: it is audited (`review.claim.broken.v1`, the lead as actor,
 * with their reason). The item stays pending; the former holder's open card learns at its next renewal that the claim
 * has ended, and they may claim it again like anyone.
 */
@Injectable()
export class ClaimBreakService {
  constructor(
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Ends the claim that holds the item now; 409 when none holds (nothing to break) or the item is not pending. */
  async breakClaim(actionId: string, lead: Principal, reason: string, now = new Date()): Promise<{ released: ReviewClaim }> {
    const item = withinTenants(await this.items.get(actionId), lead);
    if (!item) throw unknownItem(actionId);
    if ((item.kind ?? 'approval') !== 'approval' || item.status !== 'pending')
      throw new ConflictException(
        `action ${actionId} is ${item.status === 'pending' ? 'not waiting for approval' : 'already decided'}: there is no claim to break`,
      );
    if (!claimHolds(item.claim, now)) throw new ConflictException(`nobody holds a claim on action ${actionId}: there is nothing to break`);
    const held = item.claim;
    if (held.by === lead.id)
      throw new ConflictException(`you hold the claim on action ${actionId} yourself: release it (POST /v1/reviews/${actionId}/release)`);
    // On the record before it takes effect: a break that is not audited does not happen (the bus refuses, 503, and the
    // claim still holds). Only the claim of the holder read above is ended: one taken since by another is left alone.
    await this.bus.emit(
      TOPICS.claimBroken,
      { heldBy: held.by, heldUntil: held.until, reason },
      { cause: queuedBy(item), actor: reviewerActor(lead), discriminator: `${held.by}:${held.until}` },
    );
    const released = await this.items.releaseClaim(actionId, held.by);
    if (!released) throw new ConflictException(`the claim on action ${actionId} ended meanwhile (released, run out, or decided): there is nothing to break`);
    this.logger.warn({ actionId, heldBy: held.by, lead: lead.id }, 'review item claim broken by a lead');
    return { released: held };
  }
}
