import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { FlagControls } from '@countersign/flags';
import type { Logger } from '@countersign/logging';
import { FlagControlFollower, LOGGER } from '@countersign/nest';
import type { VerifyKeys } from '@countersign/approval';
import { DECISION_KEYS, FLAG_CONTROLS } from '../tokens';

/**
 * The control topic on every executor instance: a kill switch switched off through the policy engine's API is in force
 * here as soon as its entry arrives, since the executor reads its flags through `withFlagControls` (ADR 0014).
 */
@Injectable()
export class FlagControlConsumer extends FlagControlFollower {
  protected readonly group = `executor.flag-control.${randomUUID().slice(0, 8)}`;

  constructor(
    @Inject(FLAG_CONTROLS) protected readonly controls: FlagControls,
    @Inject(DECISION_KEYS) protected readonly controlKeys: VerifyKeys,
    @Inject(LOGGER) protected readonly logger: Logger,
  ) {
    super();
  }
}
