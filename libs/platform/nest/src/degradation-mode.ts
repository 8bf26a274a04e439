import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Optional, Provider } from '@nestjs/common';
import type { VerifyKeys } from '@countersign/approval';
import type { HandlerMap } from '@countersign/bus';
import { DegradationModeSchema, TOPICS, TopicMap } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import type { z } from 'zod';
import { BusConsumer } from './bus-consumer';
import { refusedControlFact } from './control-facts';
import { LOGGER, METRICS } from './platform.module';

/** A degradation mode as the control topic carries it. */
export type AppliedMode = z.infer<typeof DegradationModeSchema>;

type ModeChanged = TopicMap[typeof TOPICS.degradationModeChanged];

/** The degradation mode this instance applies (`DegradationModeState`), shared by the services of one process. */
export const DEGRADATION_MODE = Symbol.for('countersign.DegradationMode');
const FOLLOWER_GROUP = Symbol.for('countersign.DegradationModeGroup');
const FOLLOWER_KEYS = Symbol.for('countersign.DegradationModeKeys');

/**
 * The degradation mode as this instance knows it, from the compacted control topic
 * `control.degradation.mode-changed.v1` (the degradation controller of the review queue publishes it; ADR 0013).
 * `mode()` is undefined until the topic has been read to the end it had when this instance subscribed: the caller
 * then decides nothing and executes nothing (a transient doubt, retried). Read to the end and empty, it is `normal`:
 * no controller ever raised it. The newest event applies at once, whatever came before it (an older one read after it is a
 * replay, and changes nothing).
 *
 * Only sealed events apply (docs/adr/0039): the follower refuses the others (`refuse`). A refused event changes nothing
 * once a genuine one is in force; but while none is, a refused one makes the mode unknown, not `normal`: a topic whose
 * every event is refused (forged, or sealed by a key no longer trusted) is a doubt, and nothing decides until the
 * controller publishes again.
 */
export class DegradationModeState {
  private latest?: { mode: AppliedMode; eventId: string; time: string };
  private refused?: { eventId: string; reason: string };
  private current = false;
  private readonly listeners = new Set<(mode: AppliedMode, eventId: string | undefined) => void>();

  /** The mode in force, or undefined while the control topic has not been read up to its end yet. */
  mode(): AppliedMode | undefined {
    if (!this.current || (!this.latest && this.refused)) return undefined;
    return this.latest?.mode ?? 'normal';
  }

  /** Why `mode()` is undefined, for the log and the retry. */
  notKnownReason(): string {
    if (this.current && !this.latest && this.refused)
      return `no genuine degradation mode is in force: event ${this.refused.eventId} was refused (${this.refused.reason})`;
    return 'the degradation mode control topic has not been read to its end yet';
  }

  /** An event the follower did not apply (its seal does not verify): see the class comment. */
  refuse(eventId: string, reason: string): void {
    const before = this.mode();
    this.refused = { eventId, reason };
    if (this.current && this.mode() !== before) this.tell(eventId);
  }

  /** The event that set the mode in force (absent while the topic is empty). */
  source(): { eventId: string; time: string } | undefined {
    return this.latest && { eventId: this.latest.eventId, time: this.latest.time };
  }

  apply(e: ModeChanged): void {
    // Redeliveries arrive in order per key (one key), and the controller stamps each event after the one before: an
    // event older than the one in force is a replay (a genuine `normal` of yesterday sent again), and changes nothing.
    if (this.latest && Date.parse(e.time) < Date.parse(this.latest.time)) return;
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
    const mode = this.mode();
    if (mode === undefined) return;
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
    @Inject(FOLLOWER_KEYS) private readonly keys: { verify: VerifyKeys | undefined },
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
        const refused = refusedControlFact(e, this.keys.verify);
        if (refused) {
          this.state.refuse(e.id, refused);
          return void this.logger.error({ alert: 'control-fact-refused', topic: TOPICS.degradationModeChanged, eventId: e.id }, refused);
        }
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
 * follower, in a replay group of this instance's own (`<service>.degradation-mode.<instance>`), which applies only events
 * sealed by a key of `keys` (the review queue's verify keys; none: nothing applies and the mode stays unknown).
 */
export function degradationModeProviders(service: string, keys: VerifyKeys | undefined, state = new DegradationModeState()): Provider[] {
  return [
    { provide: DEGRADATION_MODE, useValue: state },
    { provide: FOLLOWER_KEYS, useValue: { verify: keys } },
    { provide: FOLLOWER_GROUP, useValue: `${service}.degradation-mode.${randomUUID().slice(0, 8)}` },
    DegradationModeFollower,
  ];
}
