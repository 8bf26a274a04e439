import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Provider } from '@nestjs/common';
import type { VerifyKeys } from '@countersign/approval';
import { FlagControls } from '@countersign/flags';
import type { Logger } from '@countersign/logging';
import { FlagControlFollower, LOGGER } from '@countersign/nest';
import { DECISION_KEYS, KILL_SWITCH_NOW } from '../tokens';

/** The kill switches' flags are `<prefix><actionType>`, as the executor and the policy engine name them (`FLAG_PREFIX`). */
export const DEFAULT_KILL_SWITCH_PREFIX = 'countersign.exec.';

/**
 * The flag of `actionType`'s kill switch when its approved state is `off`, or undefined. The executor refuses an
 * approved action for good while its type's kill switch is off (ADR 0014), so the card says so before a reviewer
 * approves (lifecycle, 2026-12-06: an approval given while the switch was off ended `refused` with nothing said before).
 * Only what is known: a switch whose state was never published, or not read yet, says nothing here; the executor
 * still checks at execution time.
 */
export type KillSwitchNow = (actionType: string) => string | undefined;

const CONTROLS = Symbol('ReviewQueueFlagControls');

/** Follows the autonomy control topic into the review queue's own copy of the approved kill-switch states. */
@Injectable()
export class KillSwitchFollower extends FlagControlFollower {
  protected readonly group = `review-queue.flag-control.${randomUUID().slice(0, 8)}`;

  constructor(
    @Inject(CONTROLS) protected readonly controls: FlagControls,
    @Inject(DECISION_KEYS) protected readonly controlKeys: VerifyKeys,
    @Inject(LOGGER) protected readonly logger: Logger,
  ) {
    super();
  }
}

/** The providers: the follower, and `KILL_SWITCH_NOW` read from what it holds. */
export function killSwitchParts(prefix = DEFAULT_KILL_SWITCH_PREFIX): Provider[] {
  const controls = new FlagControls();
  const now: KillSwitchNow = (actionType) => {
    const flag = `${prefix}${actionType}`;
    return controls.get(flag)?.value === 'off' ? flag : undefined;
  };
  return [{ provide: CONTROLS, useValue: controls }, { provide: KILL_SWITCH_NOW, useValue: now }, KillSwitchFollower];
}
