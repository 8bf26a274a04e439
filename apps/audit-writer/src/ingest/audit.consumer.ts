import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventBus, HandlerMap, Subscription } from '@countersign/bus';
import { ALL_TOPICS, Envelope, TOPICS } from '@countersign/contracts';
import { EVENT_BUS } from '@countersign/nest';
import { AuditChainService } from '../chain/audit-chain.service';
import { toAuditEntry } from './audit-entry';

/**
 * Every topic, dead-letter topics included, lands in the audit log — except the tree heads the audit
 * writer publishes itself (they certify the log; they are kept beside it, not in it).
 */
@Injectable()
export class AuditConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscription?: Subscription;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly chain: AuditChainService,
  ) {}

  async onApplicationBootstrap() {
    const topics = ALL_TOPICS.filter((t) => t !== TOPICS.treeHeadPublished);
    const handlers = Object.fromEntries(topics.map((topic) => [topic, (e: Envelope) => this.chain.append(toAuditEntry(topic, e))])) as HandlerMap;
    this.subscription = await this.bus.subscribe({ group: 'audit-writer.append', handlers });
  }

  async onApplicationShutdown() {
    await this.subscription?.close();
  }
}
