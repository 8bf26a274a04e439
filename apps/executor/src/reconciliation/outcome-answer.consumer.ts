import { Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { Reconciler } from './reconciler.service';

/** Hears the answers people give to "did this happen?" (verified before anything changes). */
@Injectable()
export class OutcomeAnswerConsumer extends BusConsumer {
  protected readonly group = 'executor.outcome-answers';

  constructor(private readonly reconciler: Reconciler) {
    super();
  }

  protected handlers(): HandlerMap {
    return { [TOPICS.outcomeCheckAnswered]: (e) => this.reconciler.onOutcomeAnswered(e) };
  }
}
