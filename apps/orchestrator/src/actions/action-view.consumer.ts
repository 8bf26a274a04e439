import { Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { Envelope, TOPICS, TopicMap } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { maskText } from '@countersign/guardrails';
import { ACTION_VIEWS } from '../tokens';
import { ActionViewRepository, TimelineEntry } from './action-view.repository';

/** Follows every event of every action into the read model behind `GET /v1/actions/{id}`. */
@Injectable()
export class ActionViewConsumer extends BusConsumer {
  protected readonly group = 'orchestrator.action-view';

  constructor(@Inject(ACTION_VIEWS) private readonly views: ActionViewRepository) {
    super();
  }

  protected handlers(): HandlerMap {
    const put = (e: Envelope, fields: Pick<TimelineEntry, 'status' | 'detail'> & Partial<TimelineEntry>) =>
      // The store keeps no regulated data in clear: an actor id can be an e-mail address, a detail names targets and reasons.
      this.views.record(e.subject, { eventId: e.id, type: e.type, time: e.time, ...fields, actor: maskText(e.actor.id), detail: maskText(fields.detail) });
    return {
      [TOPICS.actionProposed]: (e) =>
        put(e, { status: 'proposed', detail: `${e.data.proposal.actionType} on ${e.data.proposal.target} via ${e.data.receivedVia}` }),
      [TOPICS.policyDecided]: (e) =>
        put(e, { status: laneStatus(e), lane: e.data.lane, detail: `contract ${e.data.contractVersion}: ${e.data.reasons.join('; ')}` }),
      [TOPICS.reviewDecided]: (e) => put(e, { status: e.data.decision, detail: `${e.data.reviewers.map((r) => r.id).join(', ')}: ${e.data.reason}` }),
      [TOPICS.actionExecuted]: (e) =>
        put(e, { status: 'executed', detail: `via ${e.data.connector}${e.data.externalRequestId ? ` (request ${e.data.externalRequestId})` : ''}` }),
      [TOPICS.actionFailed]: (e) => put(e, { status: e.data.outcome, detail: e.data.error }),
      [TOPICS.actionRefused]: (e) => put(e, { status: 'refused', detail: `${e.data.code}: ${e.data.reason}` }),
    };
  }
}

const laneStatus = (e: TopicMap[typeof TOPICS.policyDecided]): TimelineEntry['status'] => (e.data.lane === 'review' ? 'in_review' : e.data.lane);
