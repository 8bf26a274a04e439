import { ConflictException, ForbiddenException, HttpException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { EventBus } from '@countersign/bus';
import { newId, Proposal, TOPICS } from '@countersign/contracts';
import { Rate, TokenBuckets } from '@countersign/limits';
import { EVENT_BUS, Principal } from '@countersign/nest';
import { findRegulatedData, redactSecrets } from '@countersign/guardrails';
import { queuedBy, ReviewItem, ReviewItemRepository } from '../review-item/review-item.repository';
import { reviewerActor } from '../review-item/reviewer-actor';
import { ProposalSealer, realProposalOf } from '../review-item/sealed-proposal';
import { PROPOSAL_SEALER, REVIEW_ITEMS } from '../tokens';
import { holdsItemRole, withinTenants } from '../review-item/item-roles';

/** The permission (a role in the tokens file) that lets a reviewer see the real values of an item they decide. */
export const PII_VIEW = 'pii:view';

/**
 * How many reveals one reviewer may ask for: 30 at once, then one every 2 s. A person deciding items reveals a few a
 * minute; one token revealing 426 a second wrote as many audit entries (red team, 2026-12-05). Past it: 429.
 */
export const REVEAL_RATE: Rate = { perSecond: 0.5, burst: 30 };

/**
 * Shows a reviewer the real proposal of a pending item, where everyone else sees it masked: only a human
 * holding `pii:view` and a role the item requires. Every reveal is audited (`review.data.revealed.v1`,
 * published before anything is shown: no audit, no reveal); every refusal is a 403/409 the rejection
 * filter audits.
 */
@Injectable()
export class RevealService {
  /** Each reviewer's reveals (`REVEAL_RATE`); a test may give its own. */
  rate = new TokenBuckets(REVEAL_RATE);

  constructor(
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(PROPOSAL_SEALER) private readonly sealer: ProposalSealer,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
  ) {}

  async reveal(actionId: string, reviewer: Principal): Promise<{ item: ReviewItem; proposal: Proposal }> {
    // Another tenant's item is unknown to the reviewer, before anything else is told of it (ADR 0052).
    const item = withinTenants(await this.items.get(actionId), reviewer);
    if (!item) throw new NotFoundException(`no review item for action ${actionId}`);
    if (reviewer.kind !== 'human' || !reviewer.roles.includes(PII_VIEW)) {
      throw new ForbiddenException(`seeing the real values of a review item requires the ${PII_VIEW} permission`);
    }
    if (!holdsItemRole(item, reviewer.roles)) throw new ForbiddenException(`this item is decided by one of the roles: ${item.requiredRoles.join(', ')}`);
    const wait = this.rate.take(reviewer.id);
    if (wait !== undefined) {
      const { burst, perSecond } = this.rate.rate;
      throw new HttpException(
        {
          statusCode: 429,
          message: `reviewer ${reviewer.id} asks for reveals faster than allowed (${burst} at once, then one every ${1 / perSecond} s): retry after ${wait} s`,
          retryAfter: wait,
        },
        429,
      );
    }
    if (item.status !== 'pending') throw new ConflictException(`action ${actionId} is already decided: there is nothing left to decide`);
    // What is shown is what an approval binds to: the digest the policy engine decided on.
    const real = realProposalOf(this.sealer, item);
    if (!real.ok)
      throw new ConflictException(
        real.why === 'no-sealed-copy'
          ? `action ${actionId} was queued without a sealed copy: its real values cannot be shown`
          : real.why === 'unreadable'
            ? `the real values of action ${actionId} cannot be shown: ${real.detail}`
            : `the sealed copy of action ${actionId} does not match its digest: nothing is shown`,
      );
    const proposal = real.proposal;
    await this.bus.emit(
      TOPICS.reviewDataRevealed,
      { digest: item.digest, findings: findRegulatedData(proposal) },
      {
        cause: queuedBy(item),
        // Each reveal is its own event (a derived id alone would make a second reveal a duplicate).
        discriminator: newId(),
        // The reviewer who saw the real values, not the service that showed them, with how they signed in.
        actor: reviewerActor(reviewer),
      },
    );
    // Regulated data shown, credentials not: a scoped token stays hidden from every reviewer.
    return { item, proposal: redactSecrets(proposal) };
  }
}
