import { Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { OutcomeCheckService } from './outcome-check.service';

/** Turns every "did this happen?" the executor asks into a review item of kind `outcome-check`. */
@Injectable()
export class OutcomeCheckConsumer extends BusConsumer {
  protected readonly group = 'review-queue.outcome-checks';

  constructor(private readonly checks: OutcomeCheckService) {
    super();
  }

  protected handlers(): HandlerMap {
    return { [TOPICS.outcomeCheckRequested]: (e) => this.checks.enqueue(e) };
  }
}
