import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventBus, Subscription } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { EVENT_BUS } from '@countersign/nest';
import { DecisionService } from './decision.service';

@Injectable()
export class DecisionConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscription?: Subscription;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly decisions: DecisionService,
  ) {}

  async onApplicationBootstrap() {
    this.subscription = await this.bus.subscribe({
      group: 'policy-engine.decide',
      handlers: { [TOPICS.actionProposed]: (e) => this.decisions.onActionProposed(e) },
    });
  }

  async onApplicationShutdown() {
    await this.subscription?.close();
  }
}
