import { Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import type { VerifyKeys } from '@countersign/approval';
import { TOPICS, TopicMap } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { BusConsumer, LOGGER, refusedControlFact } from '@countersign/nest';
import { DEGRADATION_CONTROL_GROUP, DEGRADATION_CONTROL_STATE, REVIEW_QUEUE_VERIFY_KEYS } from '../tokens';
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
  /** An event on the mode topic, after the genuine one in force, that was refused (not sealed by the review queue). */
  private modeRefused?: string;
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
    this.modeRefused = undefined;
  }

  /**
   * A mode event this instance refused (docs/adr/0039). The followers of the other services refused it too, but one on
   * a topic with no genuine event leaves them with no mode (they decide nothing): the controller publishes the mode
   * again (`needsRepublish`), so a forged event costs at most one tick of the controller.
   */
  refuseMode(eventId: string): void {
    this.modeRefused = eventId;
  }

  /** Why the controller must publish the mode even though it did not change (a refused event sits after it), if so. */
  needsRepublish(): string | undefined {
    return this.modeRefused && `event ${this.modeRefused} on the mode topic was refused: the mode is published again`;
  }

  applyOverride(e: OverrideSet): void {
    // An event older than the one in force is a replay (a genuine override sent again after it was cleared): ignored.
    const inForce = e.subject === OVERRIDE_REQUEST_SUBJECT ? this.request : this.override;
    if (inForce && Date.parse(e.time) < Date.parse(inForce.time)) return;
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

  /**
   * The operator overrides at `now`, in order: the one in force first, then those that resume after it (`resumes`),
   * each in force from the end of the one before it to its own. Expired ones are left out; none when none was set, or
   * it was cleared.
   */
  overrideStack(now: number): ModeOverride[] {
    const o = this.override?.data.override;
    if (!o) return [];
    const { resumes = [], ...top } = o;
    return [top, ...resumes].filter((s) => Date.parse(s.expiresAt) > now);
  }

  /** The operator override in force at `now` (set, not cleared, not expired), with those that resume after it. */
  activeOverride(now: number): ModeOverride | undefined {
    const [first, ...rest] = this.overrideStack(now);
    return first && (rest.length ? { ...first, resumes: rest } : first);
  }

  /** When the override in force at `now` was set (its event's time), or undefined when none is. */
  activeOverrideSetAt(now: number): string | undefined {
    return this.activeOverride(now) && this.override!.time;
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
    @Inject(REVIEW_QUEUE_VERIFY_KEYS) private readonly keys: VerifyKeys,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  // Only events the review queue sealed apply (docs/adr/0039): a forged override (say, "confirmed" by nobody) changes
  // nothing here, and a forged mode makes the controller publish the mode again.
  protected handlers(): HandlerMap {
    const refused = (topic: string, e: { id: string }, reason: string) => this.logger.error({ alert: 'control-fact-refused', topic, eventId: e.id }, reason);
    return {
      [TOPICS.degradationModeChanged]: async (e) => {
        const why = refusedControlFact(e, this.keys);
        if (!why) return this.state.applyMode(e);
        this.state.refuseMode(e.id);
        refused(TOPICS.degradationModeChanged, e, why);
      },
      [TOPICS.degradationOverrideSet]: async (e) => {
        const why = refusedControlFact(e, this.keys);
        if (!why) return this.state.applyOverride(e);
        refused(TOPICS.degradationOverrideSet, e, why);
      },
    };
  }

  protected override caughtUp(): void {
    this.state.markCaughtUp();
  }
}
