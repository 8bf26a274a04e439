import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventBus, Subscription } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { EVENT_BUS } from '@countersign/nest';
import { ProposalsService } from './proposals.service';

/** Agents may produce proposals straight to Kafka; they enter the flow here like HTTP ones. */
@Injectable()
export class ProposalsConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscription?: Subscription;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly proposals: ProposalsService,
  ) {}

  async onApplicationBootstrap() {
    this.subscription = await this.bus.subscribe({
      group: 'orchestrator.ingest',
      handlers: { [TOPICS.proposalSubmitted]: (e) => this.proposals.acceptFromBus(e) },
    });
  }

  async onApplicationShutdown() {
    await this.subscription?.close();
  }
}
