import { Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { DecisionService } from './decision.service';

/** Every proposed action gets a decision. */
@Injectable()
export class DecisionConsumer extends BusConsumer {
  protected readonly group = 'policy-engine.decide';

  constructor(private readonly decisions: DecisionService) {
    super();
  }

  protected handlers(): HandlerMap {
    return { [TOPICS.actionProposed]: (e) => this.decisions.onActionProposed(e) };
  }
}
