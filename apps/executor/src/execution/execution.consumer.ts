import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventBus, Subscription } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { EVENT_BUS } from '@countersign/nest';
import { ExecutionService } from './execution.service';

/** The executor acts on two things only: policy decisions and review decisions. */
@Injectable()
export class ExecutionConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscription?: Subscription;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly execution: ExecutionService,
  ) {}

  async onApplicationBootstrap() {
    this.subscription = await this.bus.subscribe({
      group: 'executor.execute',
      handlers: {
        [TOPICS.policyDecided]: (e) => this.execution.onPolicyDecided(e),
        [TOPICS.reviewDecided]: (e) => this.execution.onReviewDecided(e),
      },
    });
  }

  async onApplicationShutdown() {
    await this.subscription?.close();
  }
}
