import { Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { DEGRADATION_CONTROL_GROUP, DEGRADATION_CONTROL_STATE } from '../tokens';
import type { Mode } from './mode';

export type ModeChanged = TopicMap[typeof TOPICS.degradationModeChanged];
export type OverrideSet = TopicMap[typeof TOPICS.degradationOverrideSet];
export type ModeOverride = NonNullable<OverrideSet['data']['override']>;

/** The subjects (Kafka keys) of the two compacted control topics: one value each. */
export const MODE_SUBJECT = 'degradation-mode';
export const OVERRIDE_SUBJECT = 'degradation-override';

/** The published mode as the controller continues from it: normal since ever on an empty topic. */
export interface PublishedMode {
  mode: Mode;
  computed: Mode;
  /** ms */
  computedSince: number;
  override?: ModeOverride;
  reason: string;
  event?: { id: string; time: string };
}

/**
 * What the control topics say, as this review-queue instance has read them: the mode last published (the state a
 * controller continues from, whoever published it) and the operator override last set. The control topics are the
 * record of both, so a new leader takes over the mode, its dwell and the override exactly where they were.
 */
export class DegradationControlState {
  private mode?: ModeChanged;
  private override?: OverrideSet;
  private current = false;
  private readonly overrideListeners = new Set<() => void>();

  caughtUp(): boolean {
    return this.current;
  }

  markCaughtUp(): void {
    this.current = true;
  }

  applyMode(e: ModeChanged): void {
    // The controller applies what it publishes at once, before its own follower reads it back: an older event read
    // after that does not roll the state back.
    if (this.mode && Date.parse(e.time) < Date.parse(this.mode.time)) return;
    this.mode = e;
  }

  applyOverride(e: OverrideSet): void {
    this.override = e;
    for (const l of this.overrideListeners) l();
  }

  onOverride(listener: () => void): () => void {
    this.overrideListeners.add(listener);
    return () => this.overrideListeners.delete(listener);
  }

  published(): PublishedMode {
    if (!this.mode) return { mode: 'normal', computed: 'normal', computedSince: 0, reason: 'no mode published yet: normal' };
    const d = this.mode.data;
    return {
      mode: d.mode,
      computed: d.computed,
      computedSince: Date.parse(d.computedSince),
      ...(d.override && { override: d.override }),
      reason: d.reason,
      event: { id: this.mode.id, time: this.mode.time },
    };
  }

  /** The operator override in force at `now` (set, not cleared, not expired). */
  activeOverride(now: number): ModeOverride | undefined {
    const o = this.override?.data.override;
    return o && Date.parse(o.expiresAt) > now ? o : undefined;
  }
}

/** Follows both control topics into the instance's `DegradationControlState` (replayed at each start). */
@Injectable()
export class DegradationControlFollower extends BusConsumer {
  protected override readonly replay = true;
  protected override readonly concurrency = 1;

  constructor(
    @Inject(DEGRADATION_CONTROL_STATE) private readonly state: DegradationControlState,
    @Inject(DEGRADATION_CONTROL_GROUP) protected readonly group: string,
  ) {
    super();
  }

  protected handlers(): HandlerMap {
    return {
      [TOPICS.degradationModeChanged]: async (e) => this.state.applyMode(e),
      [TOPICS.degradationOverrideSet]: async (e) => this.state.applyOverride(e),
    };
  }

  protected override caughtUp(): void {
    this.state.markCaughtUp();
  }
}
