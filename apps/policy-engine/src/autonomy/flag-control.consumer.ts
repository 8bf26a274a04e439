import { Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { DecisionSigner, POLICY_ENGINE_SEAL, verifyEventSeal, VerifyKeys, verifyKeysOfSigner } from '@countersign/approval';
import type { Logger } from '@countersign/logging';
import { BusConsumer, LOGGER } from '@countersign/nest';
import { AUTONOMY, DECISION_SIGNER, INSTANCE_ID } from '../tokens';
import type { AutonomySettings } from './autonomy.service';

/**
 * Follows the control topic (`control.autonomy.changed.v1`) on every policy-engine instance, from the beginning
 * at every start (a replay group of its own): each entry is in force for the decisions at once, as the stricter
 * of it and Unleash (`withFlagControls`).
 */
@Injectable()
export class FlagControlConsumer extends BusConsumer {
  protected readonly group: string;
  protected override readonly replay = true;

  private readonly keys: VerifyKeys;

  constructor(
    @Inject(AUTONOMY) private readonly settings: AutonomySettings,
    @Inject(INSTANCE_ID) instanceId: string,
    // Only entries a policy engine sealed with the decision key (docs/adr/0040, addendum).
    @Inject(DECISION_SIGNER) signer: DecisionSigner,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
    this.group = `policy-engine.flag-control.${instanceId}`;
    this.keys = verifyKeysOfSigner(signer);
  }

  /** Read to its end: the stricter entries it holds are in force, and flags read as known again. */
  protected override caughtUp(): void {
    this.settings.controls.markCaughtUp();
  }

  protected handlers(): HandlerMap {
    return {
      [TOPICS.autonomyChanged]: async (e) => {
        const sealed = verifyEventSeal(e, this.keys, POLICY_ENGINE_SEAL);
        if (!sealed.ok) return void this.logger.error({ alert: 'control-fact-refused', topic: TOPICS.autonomyChanged, eventId: e.id }, sealed.reason);
        this.settings.controls.applyEvent(e);
      },
    };
  }
}
