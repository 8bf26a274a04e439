import { Inject, Injectable } from '@nestjs/common';
import { genuineDecision, POLICY_ENGINE_SEAL, verifyEventSeal, VerifyKeys } from '@countersign/approval';
import type { HandlerMap } from '@countersign/bus';
import { ALL_TOPICS, Envelope, TOPICS, TopicMap } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { activeTraceIds } from '@countersign/tracing';
import { AuditChainService } from '../chain/audit-chain.service';
import { SEAL_KEYS } from '../tokens';
import { toAuditEntry, unverifiedEntry } from './audit-entry';

/** The public keys of the services whose events are sealed or signed (docs/adr/0039, 0040). */
export interface SealKeys {
  /** The policy engine's decision keys (`DECISION_VERIFY_KEYS_FILE`). */
  decisions: VerifyKeys;
  /** The review queue's keys (`APPROVAL_VERIFY_KEYS_FILE`): its control facts' seals and its review decisions' signatures. */
  reviewQueue: VerifyKeys;
}

const CONTROL_FACTS: readonly string[] = [TOPICS.trustHealthChanged, TOPICS.degradationModeChanged, TOPICS.degradationOverrideSet];

/**
 * Every topic, dead-letter topics included, lands in the audit log — except the tree heads the audit
 * writer publishes itself (they certify the log; they are kept beside it, not in it). An event that claims to be a
 * policy decision, a control fact or a review decision without its publisher's seal or signature is recorded apart
 * (`unverifiedEntry`): event ids are derived from their cause and can be computed by anyone who reads the cause, so a
 * forgery sent first must not take the genuine event's place in the log (red team pass 6).
 */
@Injectable()
export class AuditConsumer extends BusConsumer {
  protected readonly group = 'audit-writer.append';
  // Many events at once, from every topic: the appends in flight share one transaction per batch.
  protected override readonly concurrency = 256;

  constructor(
    private readonly chain: AuditChainService,
    @Inject(SEAL_KEYS) private readonly keys: SealKeys,
  ) {
    super();
  }

  protected handlers(): HandlerMap {
    const topics = ALL_TOPICS.filter((t) => t !== TOPICS.treeHeadPublished);
    // Handled inside the event's consumer span (libs/platform/bus): its trace is the one the producer's `traceparent` named.
    return Object.fromEntries(
      topics.map((topic) => [
        topic,
        (e: Envelope) => {
          const entry = toAuditEntry(topic, e, activeTraceIds()?.traceId);
          const unverified = this.unverified(topic, e);
          return this.chain.append(unverified ? unverifiedEntry(entry, e, unverified) : entry);
        },
      ]),
    ) as HandlerMap;
  }

  /** Why `e` is not the event it claims to be, or undefined when it is (or its topic is neither sealed nor signed). */
  private unverified(topic: string, e: Envelope): string | undefined {
    if (topic === TOPICS.policyDecided) {
      const check = verifyEventSeal(e as TopicMap[typeof TOPICS.policyDecided], this.keys.decisions, POLICY_ENGINE_SEAL);
      return check.ok ? undefined : check.reason;
    }
    if (CONTROL_FACTS.includes(topic)) {
      const check = verifyEventSeal(e as TopicMap[typeof TOPICS.degradationModeChanged], this.keys.reviewQueue);
      return check.ok ? undefined : check.reason;
    }
    if (topic === TOPICS.reviewDecided) {
      const d = (e as TopicMap[typeof TOPICS.reviewDecided]).data;
      const check = genuineDecision(d.signature ?? d.approval, { decision: d.decision, actionId: e.subject, digest: d.digest }, this.keys.reviewQueue);
      return check.ok ? undefined : check.reason;
    }
    return undefined;
  }
}
