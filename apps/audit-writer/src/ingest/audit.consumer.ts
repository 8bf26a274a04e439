import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventBus, HandlerMap, Subscription } from '@countersign/bus';
import { ALL_TOPICS, Envelope } from '@countersign/contracts';
import { EVENT_BUS } from '@countersign/nest';
import { AUDIT_LOG } from '../tokens';
import { AuditLogRepository } from './audit-log.repository';

/** Every topic, dead-letter topics included, lands in the audit store. */
@Injectable()
export class AuditConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscription?: Subscription;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(AUDIT_LOG) private readonly log: AuditLogRepository,
  ) {}

  async onApplicationBootstrap() {
    const handlers = Object.fromEntries(ALL_TOPICS.map((topic) => [topic, (e: Envelope) => this.log.append(topic, e)])) as HandlerMap;
    this.subscription = await this.bus.subscribe({ group: 'audit-writer.append', handlers });
  }

  async onApplicationShutdown() {
    await this.subscription?.close();
  }
}
