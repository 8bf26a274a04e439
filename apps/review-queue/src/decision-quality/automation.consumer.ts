import { Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { POLICY_ENGINE_SEAL, verifyEventSeal, VerifyKeys } from '@countersign/approval';
import { TOPICS } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { OVERRIDE_REQUEST_SUBJECT } from '../degradation/control-state';
import { DECISION_KEYS, DECISION_QUALITY, REVIEW_QUEUE_VERIFY_KEYS } from '../tokens';
import type { DecisionQuality } from './decision-quality';

/**
 * The governance page's automation ratio and override frequency (ADR 0018): the lane of every policy decision, and
 * every operator override (a degradation-mode override set or cleared, an autonomy flag changed), each kept once per
 * event id. Its own consumer group, apart from the intake: a slow store here never holds a review item back.
 */
@Injectable()
export class AutomationConsumer extends BusConsumer {
  protected readonly group = 'review-queue.decision-quality';

  constructor(
    @Inject(DECISION_QUALITY) private readonly quality: DecisionQuality,
    // Only sealed decisions and overrides count (docs/adr/0039, 0040): a forged flood does not move the ratios leads read.
    @Inject(DECISION_KEYS) private readonly decisionKeys: VerifyKeys,
    @Inject(REVIEW_QUEUE_VERIFY_KEYS) private readonly reviewQueueKeys: VerifyKeys,
  ) {
    super();
  }

  protected handlers(): HandlerMap {
    const store = this.quality.store;
    return {
      // The event's own time: a backlog read late still lands in the hour it was decided. A version made by approve with
      // changes is the same action as its first, whose lane counted: one action, one decision (auditor probe, 2026-12-07:
      // each revision counted as one more review).
      [TOPICS.policyDecided]: async (e) => {
        if (!e.data.revisionOf && verifyEventSeal(e, this.decisionKeys, POLICY_ENGINE_SEAL).ok) await store.recordLane(e.id, e.data.lane, new Date(e.time));
      },
      // An override set or cleared; a request that waits for a second admin is not one yet.
      [TOPICS.degradationOverrideSet]: async (e) => {
        if (e.subject !== OVERRIDE_REQUEST_SUBJECT && verifyEventSeal(e, this.reviewQueueKeys).ok)
          await store.recordOverride({ eventId: e.id, kind: 'mode-override', at: e.time });
      },
      // `accepted` is a drift accepted as the new approved value: an operator's change all the same. Not what Countersign
      // took itself (`origin`: a flag adopted at its first look, a new type's kill switch): a first start counted 17
      // changes nobody made (red team, 2026-12-07). Sealed by the policy engine, as the followers that apply it require.
      [TOPICS.autonomyChanged]: async (e) => {
        if (!e.data.origin && verifyEventSeal(e, this.decisionKeys, POLICY_ENGINE_SEAL).ok)
          await store.recordOverride({ eventId: e.id, kind: 'autonomy-change', at: e.time });
      },
    };
  }
}
