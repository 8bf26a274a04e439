import { Inject, Injectable, Optional } from '@nestjs/common';
import type { ActionHeldV1 } from '@countersign/contracts';
import { executionFlagName, FlagReader } from '@countersign/flags';
import { DEGRADATION_MODE, DegradationModeState, TRUST_HEALTH, TrustHealthState } from '@countersign/nest';
import type { z } from 'zod';
import type { ActionRecord } from '../execution/execution.repository';
import { AUDIT_UNAVAILABLE, FLAG_PREFIX, FLAGS } from '../tokens';

export type Hold = { code: z.infer<typeof ActionHeldV1>['code']; reason: string };

/**
 * What stops the reconciler from sending an action again (a second call is an execution like the first): the kill
 * switch of its type not on, the degradation mode halted or not read yet, the trust stack not healthy. The same
 * brakes the executor applies before a first call (and the embedded audit file that cannot be written); here each only holds (the outcome is still unknown: the first call
 * may have taken effect, so nothing is refused), and the action is looked at again after the lease. Asking the
 * target or a person is not a call, and is not held.
 */
@Injectable()
export class ResendGate {
  constructor(
    @Inject(FLAGS) private readonly flags: FlagReader,
    @Inject(FLAG_PREFIX) private readonly prefix: string,
    @Optional() @Inject(DEGRADATION_MODE) private readonly degradation?: DegradationModeState,
    @Optional() @Inject(TRUST_HEALTH) private readonly trust?: TrustHealthState,
    @Optional() @Inject(AUDIT_UNAVAILABLE) private readonly auditUnavailable?: () => string | undefined,
  ) {}

  /** Why `record` may not be sent again now, or undefined when it may. */
  held(record: ActionRecord): Hold | undefined {
    const mode = this.degradation?.mode();
    if (this.degradation && mode === undefined) return { code: 'degradation-halted', reason: `not sent again: ${this.degradation.notKnownReason()}` };
    if (mode === 'halted') return { code: 'degradation-halted', reason: 'not sent again while the degradation mode is halted' };
    if (this.trust && this.trust.healthy() !== true)
      return { code: 'trust-stack-unhealthy', reason: `not sent again while the trust stack is not healthy (${this.trust.reason()})` };
    // No audit, no action: a second call is an execution like the first (red team, 2026-12-05: only the first was held).
    const unaudited = this.auditUnavailable?.();
    if (unaudited) return { code: 'audit-unavailable', reason: `not sent again while the audit trail cannot record (${unaudited})` };
    const p = record.proposal;
    const state = this.flags.state(executionFlagName(this.prefix, p.actionType), { actionType: p.actionType, tenant: p.tenant, region: p.region });
    if (state !== 'on')
      return {
        code: 'kill-switch-off',
        reason: `not sent again while the kill switch of ${p.actionType} is ${state === 'off' ? 'off' : 'unreadable'}`,
      };
    return undefined;
  }
}
