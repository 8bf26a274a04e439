import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import type { FlagControls } from '@countersign/flags';
import type { Logger } from '@countersign/logging';
import { BusConsumer, LOGGER } from '@countersign/nest';
import { DECISION_KEYS, FLAG_CONTROLS } from '../tokens';
import { POLICY_ENGINE_SEAL, verifyEventSeal, VerifyKeys } from '@countersign/approval';

/**
 * Follows the control topic (`control.autonomy.changed.v1`) from the beginning at every start (a replay group
 * of this instance's own): a kill switch switched off through the policy engine's API is in force here as soon
 * as its entry arrives, since the executor reads its flags through `withFlagControls` (ADR 0014).
 */
@Injectable()
export class FlagControlConsumer extends BusConsumer {
  protected readonly group = `executor.flag-control.${randomUUID().slice(0, 8)}`;
  protected override readonly replay = true;

  constructor(
    @Inject(FLAG_CONTROLS) private readonly controls: FlagControls,
    // Only entries the policy engine sealed (docs/adr/0040, addendum): the topic's write credential switches nothing off.
    @Inject(DECISION_KEYS) private readonly keys: VerifyKeys,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  /** Read to its end: the stricter entries it holds are in force, and flags read as known again. */
  protected override caughtUp(): void {
    this.controls.markCaughtUp();
  }

  protected handlers(): HandlerMap {
    return {
      [TOPICS.autonomyChanged]: async (e) => {
        const sealed = verifyEventSeal(e, this.keys, POLICY_ENGINE_SEAL);
        if (!sealed.ok) return void this.logger.error({ alert: 'control-fact-refused', topic: TOPICS.autonomyChanged, eventId: e.id }, sealed.reason);
        this.controls.applyEvent(e);
      },
    };
  }
}
