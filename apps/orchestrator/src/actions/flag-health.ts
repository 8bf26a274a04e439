import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Provider } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import type { ActionStatus } from './action-view.repository';

const FLAG_HEALTH_GROUP = Symbol('FlagHealthGroup');

/** The services whose flags decide (`policy-engine`) or let run (`executor`); the embedded mode reads one file for both. */
const DECIDES = new Set(['policy-engine', 'countersign-embedded']);
const RUNS = new Set(['executor', 'countersign-embedded']);

/**
 * Which services cannot read their feature flags now, as their `control.flag-source.health-changed.v1` events say: what
 * `GET /v1/actions/{id}` tells an agent whose action waits on them. Without it a proposal showed `proposed` for as long
 * as the flag file was unreadable (or Unleash down), with no word of why: the policy engine fails closed and retries,
 * which is right, and silent, which is not.
 */
export class FlagHealthWatch {
  private readonly failed = new Map<string, string>();

  apply(e: TopicMap[typeof TOPICS.flagSourceHealthChanged]): void {
    if (e.data.status === 'failed' && e.data.failClosed) this.failed.set(e.data.service, e.time);
    else this.failed.delete(e.data.service);
  }

  /** Why an action in `status` waits, when a flag source it waits on cannot be read; undefined otherwise. */
  waiting(status: ActionStatus): string | undefined {
    const on = status === 'proposed' ? DECIDES : status === 'autonomous' || status === 'approved' ? RUNS : undefined;
    const since = on && [...this.failed].find(([service]) => on.has(service))?.[1];
    if (!since) return undefined;
    return status === 'proposed'
      ? `the policy engine cannot read its feature flags (since ${since}): nothing is decided while it cannot (fail closed), and this proposal is decided once it can`
      : `the executor cannot read its feature flags (since ${since}): nothing is executed while it cannot (fail closed), and this action runs once it can`;
  }
}

/** Follows the flag-health topic into the instance's `FlagHealthWatch`: a replayed subscription of its own, from the beginning. */
@Injectable()
export class FlagHealthFollower extends BusConsumer {
  protected override readonly replay = true;
  // In order: a failure and its recovery are one service's chain.
  protected override readonly concurrency = 1;

  constructor(
    private readonly watch: FlagHealthWatch,
    @Inject(FLAG_HEALTH_GROUP) protected readonly group: string,
  ) {
    super();
  }

  protected handlers(): HandlerMap {
    return { [TOPICS.flagSourceHealthChanged]: async (e) => this.watch.apply(e) };
  }
}

/** The watch and its follower, in a replay group of this instance's own (`orchestrator.flag-health.<instance>`). */
export function flagHealthProviders(): Provider[] {
  return [
    { provide: FlagHealthWatch, useValue: new FlagHealthWatch() },
    { provide: FLAG_HEALTH_GROUP, useValue: `orchestrator.flag-health.${randomUUID().slice(0, 8)}` },
    FlagHealthFollower,
  ];
}
