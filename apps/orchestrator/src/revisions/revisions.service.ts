import { Inject, Injectable } from '@nestjs/common';
import { genuineRevision, issuedTooLongAgo, VerifyKeys } from '@countersign/approval';
import { EventBus, RefusedEvent } from '@countersign/bus';
import { revisedActionId, TOPICS, TopicMap } from '@countersign/contracts';
import { EVENT_BUS } from '@countersign/nest';
import { proposedEventId } from '../proposals/proposals.service';
import { APPROVAL_KEYS } from '../tokens';

type ProposalRevised = TopicMap[typeof TOPICS.proposalRevised];

/**
 * Turns a reviewer's revision (approve with changes, docs/adr/0017) into a new action: the orchestrator owns action
 * creation, so the review queue only says what the new version is and the action is created here, like any other,
 * and evaluated again by the policy engine. The new action's id derives from the revision event's id and its
 * `action proposed` event's id from that: a redelivered revision publishes the same event, which consumers drop.
 */
@Injectable()
export class RevisionsService {
  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(APPROVAL_KEYS) private readonly keys: VerifyKeys,
  ) {}

  async onProposalRevised(e: ProposalRevised): Promise<void> {
    // The review queue names the id it showed the reviewer; it must be the one derived here, or two ids could exist.
    if (e.data.newActionId !== revisedActionId(e.id))
      throw new RefusedEvent(`newActionId ${e.data.newActionId} is not the one derived from the revision event ${e.id}`);
    if (e.actor.kind !== 'human') throw new RefusedEvent(`a revision is a reviewer's decision; its actor is a ${e.actor.kind}`);
    // Signed by the review queue for exactly this new version: else dead-lettered with the reason (and audited there).
    const genuine = genuineRevision(e, this.keys);
    if (!genuine.ok) throw new RefusedEvent(`not a genuine revision: ${genuine.reason}`);
    // A revision carries no expiry: one issued long ago was signed by a key dated back (a retired one), not by the review
    // queue of today, and creates no action (red team, 2026-12-05: a key of 2020 made a new action as any proposer).
    const tooOld = issuedTooLongAgo(genuine.claims, new Date());
    if (tooOld) throw new RefusedEvent(`not acted on: ${tooOld}`);
    const actionId = e.data.newActionId;
    await this.bus.emit(
      TOPICS.actionProposed,
      {
        proposal: e.data.proposal,
        receivedVia: 'revision',
        revisionOf: { actionId: e.subject, by: e.actor.id, revisionEventId: e.id, proposerPrincipal: e.data.proposerPrincipal },
      },
      // The new action continues the original's correlation id: one story for whoever follows it.
      { subject: actionId, id: proposedEventId(actionId), correlationId: e.correlationId, time: new Date(e.time), actor: e.actor },
    );
  }
}
