import { Inject, Injectable } from '@nestjs/common';
import { EXECUTOR_SEAL, verifyEventSeal, VerifyKeys } from '@countersign/approval';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { BusConsumer, LOGGER } from '@countersign/nest';
import { OUTCOME_KEYS } from '../tokens';
import { OutcomeCheckService } from './outcome-check.service';

/**
 * Turns every "did this happen?" the executor asks into a review item of kind `outcome-check`, when the executor sealed
 * it (docs/adr/0042). An unsealed one is logged as an alert and queued for nobody: a hand-made request would put any
 * action, with any parameters, in front of a reviewer as the executor's question. The audit writer records it apart.
 */
@Injectable()
export class OutcomeCheckConsumer extends BusConsumer {
  protected readonly group = 'review-queue.outcome-checks';

  constructor(
    private readonly checks: OutcomeCheckService,
    @Inject(OUTCOME_KEYS) private readonly outcomeKeys: VerifyKeys,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  protected handlers(): HandlerMap {
    return {
      [TOPICS.outcomeCheckRequested]: async (e) => {
        const sealed = verifyEventSeal(e, this.outcomeKeys, EXECUTOR_SEAL);
        if (!sealed.ok)
          return void this.logger.error({ alert: 'outcome-check-refused', eventId: e.id, actionId: e.subject }, `outcome check not queued: ${sealed.reason}`);
        await this.checks.enqueue(e);
      },
    };
  }
}
