import { Inject, Injectable, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { executionFlagName, FlagReader, FlagState } from '@countersign/flags';
import type { Metrics } from '@countersign/metrics';
import { METRICS } from '@countersign/nest';
import { RunningContract } from '@countersign/policy';
import { FLAG_PREFIX, FLAGS } from '../tokens';

const STATES: readonly FlagState[] = ['on', 'off', 'unknown'];

/**
 * The kill switches as this executor reads them, at each scrape (soak probe, 2026-12-05: no metric showed that a kill
 * switch was off, only the refusals it caused):
 * - `countersign_flags_loaded`: 1 while the flag data is loaded, 0 while it is not and nothing executes;
 * - `countersign_kill_switch{action_type, state}`: for every action type of the running contract, 1 on its state (`on`
 *   executes; `off` refuses; `unknown`, a flag that does not exist or cannot be read, refuses too) and 0 on the others,
 *   read with no tenant or region: a switch scoped by tenant shows its default.
 * Read through the control topic's entries (the stricter of the flag source and a switch lowered there), as executions are.
 */
@Injectable()
export class KillSwitchMetrics implements OnModuleInit, OnModuleDestroy {
  private stop: (() => void)[] = [];

  constructor(
    @Inject(FLAGS) private readonly flags: FlagReader,
    @Inject(FLAG_PREFIX) private readonly prefix: string,
    private readonly contract: RunningContract,
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
  ) {}

  onModuleInit(): void {
    if (!this.metrics) return;
    this.stop.push(
      this.metrics.readGauge('countersign_flags_loaded', (set) => set({}, this.flags.loaded() ? 1 : 0)),
      this.metrics.readGauge('countersign_kill_switch', (set) => {
        for (const actionType of Object.keys(this.contract.current().actions)) {
          const now = this.flags.state(executionFlagName(this.prefix, actionType), {});
          for (const state of STATES) set({ action_type: actionType, state }, state === now ? 1 : 0);
        }
      }),
    );
  }

  onModuleDestroy(): void {
    for (const s of this.stop) s();
    this.stop = [];
  }
}
