import { Inject, Injectable } from '@nestjs/common';
import { DecisionSigner, VerifyKeys, verifyKeysOfSigner } from '@countersign/approval';
import type { FlagControls } from '@countersign/flags';
import type { Logger } from '@countersign/logging';
import { FlagControlFollower, LOGGER } from '@countersign/nest';
import { AUTONOMY, DECISION_SIGNER, INSTANCE_ID } from '../tokens';
import type { AutonomySettings } from './autonomy.service';

/**
 * The control topic on every policy-engine instance: each entry is in force for the decisions at once, as the stricter
 * of it and Unleash (`withFlagControls`). Entries sealed with the decision key, its own and the other instances'.
 */
@Injectable()
export class FlagControlConsumer extends FlagControlFollower {
  protected readonly group: string;
  protected readonly controls: FlagControls;
  protected readonly controlKeys: VerifyKeys;

  constructor(
    @Inject(AUTONOMY) settings: AutonomySettings,
    @Inject(INSTANCE_ID) instanceId: string,
    @Inject(DECISION_SIGNER) signer: DecisionSigner,
    @Inject(LOGGER) protected readonly logger: Logger,
  ) {
    super();
    this.group = `policy-engine.flag-control.${instanceId}`;
    this.controls = settings.controls;
    this.controlKeys = verifyKeysOfSigner(signer);
  }
}
