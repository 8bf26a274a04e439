import { Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { ALL_TOPICS, Envelope, TOPICS } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { activeTraceIds } from '@countersign/tracing';
import { AuditChainService } from '../chain/audit-chain.service';
import { toAuditEntry } from './audit-entry';

/**
 * Every topic, dead-letter topics included, lands in the audit log — except the tree heads the audit
 * writer publishes itself (they certify the log; they are kept beside it, not in it).
 */
@Injectable()
export class AuditConsumer extends BusConsumer {
  protected readonly group = 'audit-writer.append';
  // Many events at once, from every topic: the appends in flight share one transaction per batch.
  protected override readonly concurrency = 256;

  constructor(private readonly chain: AuditChainService) {
    super();
  }

  protected handlers(): HandlerMap {
    const topics = ALL_TOPICS.filter((t) => t !== TOPICS.treeHeadPublished);
    // Handled inside the event's consumer span (libs/platform/bus): its trace is the one the producer's `traceparent` named.
    return Object.fromEntries(
      topics.map((topic) => [topic, (e: Envelope) => this.chain.append(toAuditEntry(topic, e, activeTraceIds()?.traceId))]),
    ) as HandlerMap;
  }
}
