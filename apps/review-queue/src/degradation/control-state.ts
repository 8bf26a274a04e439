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
/** The key, on the override topic, of an override below the computed mode that waits for a second admin. */
export const OVERRIDE_REQUEST_SUBJECT = 'degradation-override-request';

/** How long a request for an override below the computed mode waits for a second admin before it lapses. */
export const OVERRIDE_REQUEST_TTL_MS = 3_600_000;

/** An override below the computed mode, asked for by one admin and waiting for a second. */
export interface OverrideRequest {
  override: ModeOverride;
  eventId: string;
  requestedAt: string;
}

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
  private request?: OverrideSet;
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
    if (e.subject === OVERRIDE_REQUEST_SUBJECT) {
      this.request = e;
      return;
    }
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

  /** The override request waiting for a second admin at `now` (asked for, not ended, neither it nor the override lapsed). */
  pendingRequest(now: number): OverrideRequest | undefined {
    const r = this.request;
    const o = r?.data.override;
    if (!r || !o || Date.parse(r.time) + OVERRIDE_REQUEST_TTL_MS <= now || Date.parse(o.expiresAt) <= now) return undefined;
    return { override: o, eventId: r.id, requestedAt: r.time };
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
