import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Optional, Provider } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { DegradationModeSchema, TOPICS, TopicMap } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import type { z } from 'zod';
import { BusConsumer } from './bus-consumer';
import { LOGGER, METRICS } from './platform.module';

/** A degradation mode as the control topic carries it. */
export type AppliedMode = z.infer<typeof DegradationModeSchema>;

type ModeChanged = TopicMap[typeof TOPICS.degradationModeChanged];

/** The degradation mode this instance applies (`DegradationModeState`), shared by the services of one process. */
export const DEGRADATION_MODE = Symbol.for('countersign.DegradationMode');
const FOLLOWER_GROUP = Symbol.for('countersign.DegradationModeGroup');

/**
 * The degradation mode as this instance knows it, from the compacted control topic
 * `control.degradation.mode-changed.v1` (the degradation controller of the review queue publishes it; ADR 0013).
 * `mode()` is undefined until the topic has been read to the end it had when this instance subscribed: the caller
 * then decides nothing and executes nothing (a transient doubt, retried). Read to the end and empty, it is `normal`:
 * no controller ever raised it. The latest event applies at once, whatever came before it.
 */
export class DegradationModeState {
  private latest?: { mode: AppliedMode; eventId: string; time: string };
  private current = false;
  private readonly listeners = new Set<(mode: AppliedMode, eventId: string | undefined) => void>();

  /** The mode in force, or undefined while the control topic has not been read up to its end yet. */
  mode(): AppliedMode | undefined {
    if (!this.current) return undefined;
    return this.latest?.mode ?? 'normal';
  }

  /** Why `mode()` is undefined, for the log and the retry. */
  notKnownReason(): string {
    return 'the degradation mode control topic has not been read to its end yet';
  }

  /** The event that set the mode in force (absent while the topic is empty). */
  source(): { eventId: string; time: string } | undefined {
    return this.latest && { eventId: this.latest.eventId, time: this.latest.time };
  }

  apply(e: ModeChanged): void {
    // Replays and redeliveries arrive in order per key (one key): the latest read is the latest published.
    this.latest = { mode: e.data.mode, eventId: e.id, time: e.time };
    if (this.current) this.tell(e.id);
  }

  /** The topic was read up to the end it had at the start: from now on `mode()` answers. */
  caughtUp(): void {
    if (this.current) return;
    this.current = true;
    this.tell(this.latest?.eventId);
  }

  /** Hears every mode applied from now on (the event id that set it; none for an empty topic). */
  onApplied(listener: (mode: AppliedMode, eventId: string | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private tell(eventId: string | undefined): void {
    const mode = this.mode()!;
    for (const l of this.listeners) l(mode, eventId);
  }
}

/**
 * Follows the control topic into the instance's `DegradationModeState`: a replayed subscription of its own (every
 * instance reads the topic from the beginning at each start; compacted, that is the latest event).
 */
@Injectable()
export class DegradationModeFollower extends BusConsumer {
  protected override readonly replay = true;
  // One event at a time: the mode is one key, and the latest must land last.
  protected override readonly concurrency = 1;

  constructor(
    @Inject(DEGRADATION_MODE) private readonly state: DegradationModeState,
    @Inject(FOLLOWER_GROUP) protected readonly group: string,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(METRICS) metrics?: Metrics,
  ) {
    super();
    // `countersign_degradation_mode`: the mode's rank (normal 0 … halted 3), from the moment the topic is read.
    if (metrics) state.onApplied((mode) => metrics.gauge('countersign_degradation_mode').set(DegradationModeSchema.options.indexOf(mode)));
  }

  protected handlers(): HandlerMap {
    return {
      [TOPICS.degradationModeChanged]: async (e) => {
        const before = this.state.mode();
        this.state.apply(e);
        if (before !== undefined && before !== e.data.mode)
          this.logger.warn({ mode: e.data.mode, previous: before, reason: e.data.reason }, 'degradation mode applied');
      },
    };
  }

  protected override caughtUp(): void {
    this.state.caughtUp();
    this.logger.info({ mode: this.state.mode() }, 'degradation mode read from the control topic');
  }
}

/**
 * The providers a service needs to apply the degradation mode: the state (injected as `DEGRADATION_MODE`) and its
 * follower, in a replay group of this instance's own (`<service>.degradation-mode.<instance>`).
 */
export function degradationModeProviders(service: string, state = new DegradationModeState()): Provider[] {
  return [
    { provide: DEGRADATION_MODE, useValue: state },
    { provide: FOLLOWER_GROUP, useValue: `${service}.degradation-mode.${randomUUID().slice(0, 8)}` },
    DegradationModeFollower,
  ];
}
