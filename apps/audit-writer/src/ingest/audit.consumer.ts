import { Inject, Injectable, Optional } from '@nestjs/common';
import { EXECUTOR_SEAL, genuineDecision, genuineRevision, POLICY_ENGINE_SEAL, verifyEventSeal, VerifyKeys } from '@countersign/approval';
import type { HandlerMap } from '@countersign/bus';
import { ALL_TOPICS, AnyTopic, AUDIT_LOG_OWN_TOPICS, Envelope, Topic, TOPICS, TopicMap } from '@countersign/contracts';
import type { VerifyKey } from '@countersign/keys';
import type { Metrics } from '@countersign/metrics';
import { BusConsumer, METRICS } from '@countersign/nest';
import { genuineContractChange, KeyList } from '@countersign/policy';
import { activeTraceIds } from '@countersign/tracing';
import { AuditChainService } from '../chain/audit-chain.service';
import { SEAL_KEYS } from '../tokens';
import { toAuditEntry, unverifiedEntry, withoutOracles } from './audit-entry';

/** The public keys of the services whose events are sealed or signed (docs/adr/0038, 0039, 0040, 0042). */
export interface SealKeys {
  /** The policy engine's decision keys (`DECISION_VERIFY_KEYS_FILE`): its decisions' and autonomy entries' seals. */
  decisions: VerifyKeys;
  /**
   * The review queue's keys (`APPROVAL_VERIFY_KEYS_FILE`): its control facts' seals, and the signatures of its review
   * decisions, revisions and outcome-check answers.
   */
  reviewQueue: VerifyKeys;
  /** The policy engine's contract-change keys (`CONTRACT_VERIFY_KEYS_FILE`); without them no contract change is vouched for. */
  contractChanges?: KeyList<VerifyKey>;
  /** The executor's outcome keys (`OUTCOME_VERIFY_KEYS_FILE`): the seals of what it says happened (docs/adr/0042). */
  outcomes: VerifyKeys;
}

type Check = { ok: true } | { ok: false; reason: string };

/**
 * How the audit writer checks each topic whose events carry their publisher's seal or signature: as the consumers that
 * act on them do, without the state only they hold. `signed-topics.spec.ts` (beside this file) fails when a topic with a
 * `seal` or `signature` field is neither here nor in `UNCHECKED_SIGNED_TOPICS`.
 */
export const SIGNED_TOPIC_CHECKS: { readonly [T in Topic]?: (e: TopicMap[T], keys: SealKeys) => Check } = {
  [TOPICS.policyDecided]: (e, k) => verifyEventSeal(e, k.decisions, POLICY_ENGINE_SEAL),
  [TOPICS.autonomyChanged]: (e, k) => verifyEventSeal(e, k.decisions, POLICY_ENGINE_SEAL),
  [TOPICS.trustHealthChanged]: (e, k) => verifyEventSeal(e, k.reviewQueue),
  [TOPICS.degradationModeChanged]: (e, k) => verifyEventSeal(e, k.reviewQueue),
  [TOPICS.degradationOverrideSet]: (e, k) => verifyEventSeal(e, k.reviewQueue),
  [TOPICS.reviewDecided]: ({ subject, data: d }, k) =>
    genuineDecision(d.signature ?? d.approval, { decision: d.decision, actionId: subject, digest: d.digest }, k.reviewQueue),
  [TOPICS.proposalRevised]: (e, k) => genuineRevision(e, k.reviewQueue),
  // An approval short of its quorum (red team, 2026-12-05): a forged one would put an approval no reviewer gave on the record.
  [TOPICS.approvalRecorded]: (e, k) => verifyEventSeal(e, k.reviewQueue),
  // A blind second verdict (red team, 2026-12-05): a forged one would put a review no one gave on the record.
  [TOPICS.secondReviewRecorded]: (e, k) => verifyEventSeal(e, k.reviewQueue),
  // The executor also checks that the answer is bound to the digest it executed under: state the audit writer lacks.
  [TOPICS.outcomeCheckAnswered]: ({ subject, data: d }, k) =>
    genuineDecision(d.signature, { decision: d.happened ? 'happened' : 'not-happened', actionId: subject, digest: d.digest }, k.reviewQueue),
  [TOPICS.contractChanged]: (e, k) => genuineContractChange(e.data, k.contractChanges),
  [TOPICS.actionExecuted]: (e, k) => verifyEventSeal(e, k.outcomes, EXECUTOR_SEAL),
  [TOPICS.actionFailed]: (e, k) => verifyEventSeal(e, k.outcomes, EXECUTOR_SEAL),
  [TOPICS.actionRefused]: (e, k) => verifyEventSeal(e, k.outcomes, EXECUTOR_SEAL),
  [TOPICS.actionHeld]: (e, k) => verifyEventSeal(e, k.outcomes, EXECUTOR_SEAL),
  [TOPICS.outcomeCheckRequested]: (e, k) => verifyEventSeal(e, k.outcomes, EXECUTOR_SEAL),
};

/** Topics with a signature the audit writer does not check, and why (read by `signed-topics.spec.ts` too). */
export const UNCHECKED_SIGNED_TOPICS: { readonly [T in Topic]?: string } = {
  [TOPICS.proposalSubmitted]:
    "an agent's own signature, checked by the orchestrator against the agents' keys; what the orchestrator accepts is recorded as action.proposed",
  [TOPICS.treeHeadPublished]: 'published by the audit writer itself and kept beside the log, not in it',
};

/**
 * What the audit writer reads: every topic but the tree heads it publishes itself and what it records about its own log
 * (`AUDIT_LOG_OWN_TOPICS`: it appends those to the log itself, so a copy on Kafka is a forgery and is never read).
 */
export const AUDITED_TOPICS: readonly AnyTopic[] = ALL_TOPICS.filter((t) => t !== TOPICS.treeHeadPublished && !AUDIT_LOG_OWN_TOPICS.has(t as Topic));

/**
 * Every topic, dead-letter topics included, lands in the audit log — except the tree heads the audit
 * writer publishes itself (they certify the log; they are kept beside it, not in it) and the log's own topics, which the
 * writer appends itself (chain/writer-entries.ts). An event of a sealed or signed
 * topic (`SIGNED_TOPIC_CHECKS`) without its publisher's valid seal or signature is recorded apart (`unverifiedEntry`):
 * event ids are derived from their cause and can be computed by anyone who reads the cause, so a forgery sent first
 * must not take the genuine event's place in the log (red team pass 6).
 */
@Injectable()
export class AuditConsumer extends BusConsumer {
  protected readonly group = 'audit-writer.append';
  // Many events at once, from every topic: the appends in flight share one transaction per batch.
  protected override readonly concurrency = 256;

  constructor(
    private readonly chain: AuditChainService,
    @Inject(SEAL_KEYS) private readonly keys: SealKeys,
    // Counts what is recorded apart (`countersign_audit_unverified_events_total`): the alert CountersignForgedEvents.
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
  ) {
    super();
  }

  protected handlers(): HandlerMap {
    const topics = AUDITED_TOPICS;
    // Handled inside the event's consumer span (libs/platform/bus): its trace is the one the producer's `traceparent` named.
    return Object.fromEntries(
      topics.map((topic) => [
        topic,
        async (e: Envelope) => {
          // Read before the entry is made (the key is kept after the first read): a store away fails the handling, retried.
          const key = await this.chain.pseudonymKey();
          const entry = withoutOracles(topic, toAuditEntry(topic, e, activeTraceIds()?.traceId), key);
          const unverified = this.unverified(topic, e);
          if (!unverified) return this.chain.append(entry);
          this.metrics?.counter('countersign_audit_unverified_events_total').inc({ topic });
          return this.chain.append(unverifiedEntry(entry, e, unverified, key));
        },
      ]),
    ) as HandlerMap;
  }

  /** Why `e` is not the event it claims to be, or undefined when it is (or its topic is neither sealed nor signed). */
  private unverified(topic: string, e: Envelope): string | undefined {
    if (topic.endsWith('.dlq')) return deadLetterRefusal(e);
    const check = SIGNED_TOPIC_CHECKS[topic as Topic] as ((e: Envelope, keys: SealKeys) => Check) | undefined;
    if (!check) return undefined;
    try {
      const result = check(e, this.keys);
      return result.ok ? undefined : result.reason;
    } catch (err) {
      // A check that cannot finish vouches for nothing (fail closed): the event is recorded apart, with the reason.
      return `its seal or signature could not be checked: ${(err as Error).message}`;
    }
  }
}

/**
 * Why a dead letter is not one the bus wrote, or undefined when it may be: the bus writes it as the consumer group that
 * could not handle the event, a service, naming that group in it (libs/platform/bus `sendToDlq`). A dead letter is not
 * sealed, so one that passes is recorded as what a service said, nothing more; one that claims a person, or another
 * author than its group, is recorded apart (red team, 2026-12-07: a dead letter written as alice, "approval could not be
 * delivered; executed manually by operator", went into the log as alice's, its text as her reason).
 */
export function deadLetterRefusal(e: Envelope): string | undefined {
  const group = (e.data as { consumerGroup?: unknown } | null)?.consumerGroup;
  if (e.actor.kind !== 'service')
    return `a dead letter is written by the consumer that could not handle an event, a service; this one names ${e.actor.id} (${e.actor.kind})`;
  if (typeof group !== 'string' || e.actor.id !== group || e.source !== group)
    return `a dead letter names the consumer group that wrote it as its actor and source; this one names ${String(group)}, written as ${e.actor.id} from ${e.source}`;
  return undefined;
}
