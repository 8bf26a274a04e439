import { Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { AUTONOMY, INSTANCE_ID } from '../tokens';
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

  constructor(
    @Inject(AUTONOMY) private readonly settings: AutonomySettings,
    @Inject(INSTANCE_ID) instanceId: string,
  ) {
    super();
    this.group = `policy-engine.flag-control.${instanceId}`;
  }

  /** Read to its end: the stricter entries it holds are in force, and flags read as known again. */
  protected override caughtUp(): void {
    this.settings.controls.markCaughtUp();
  }

  protected handlers(): HandlerMap {
    return {
      [TOPICS.autonomyChanged]: async (e) => this.settings.controls.applyEvent(e),
    };
  }
}
