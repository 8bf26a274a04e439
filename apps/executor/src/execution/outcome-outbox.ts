import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { EventBus } from '@countersign/bus';
import type { AnyTopic, Envelope, TopicMap } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { LOGGER, Sweeper } from '@countersign/nest';
import { EXECUTIONS, OUTCOME_BUS, OUTCOME_OUTBOX_SETTINGS } from '../tokens';
import { ExecutionRepository } from './execution.repository';

export interface OutcomeOutboxSettings {
  /** How often the sweeper looks for outcomes whose event is still to publish. */
  sweepEveryMs: number;
  /** How old a recorded outcome must be before the sweeper publishes it: the executing delivery publishes it at once. */
  graceMs: number;
}

export const DEFAULT_OUTCOME_OUTBOX: OutcomeOutboxSettings = { sweepEveryMs: 5_000, graceMs: 5_000 };

/**
 * The outcome of an execution is recorded with its whole event (built by `bus.envelope`) before the event is
 * published. This publishes it: at once for the delivery that executed, and every few seconds for outcomes whose
 * publish is not known to have gone out (Kafka failed, or the process stopped, between the record and the publish).
 * So a recorded outcome is always heard of: no action stays `approved` with its effect at the target and no
 * `executed` event. The event's id is derived from its cause, so a second copy (a sweep racing the delivery, two
 * executors sweeping) is dropped downstream.
 */
@Injectable()
export class OutcomeOutbox implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly settings: OutcomeOutboxSettings;
  private readonly sweeper: Sweeper;

  constructor(
    @Inject(OUTCOME_BUS) private readonly bus: EventBus,
    @Inject(EXECUTIONS) private readonly executions: ExecutionRepository,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(OUTCOME_OUTBOX_SETTINGS) settings?: Partial<OutcomeOutboxSettings>,
  ) {
    this.settings = { ...DEFAULT_OUTCOME_OUTBOX, ...settings };
    this.sweeper = new Sweeper((now) => this.sweepOnce(now), this.settings.sweepEveryMs, logger, 'outcome events left unpublished');
  }

  onApplicationBootstrap() {
    this.sweeper.start();
  }

  async onApplicationShutdown() {
    await this.sweeper.stop();
  }

  /**
   * Publishes an outcome event recorded with its action, then records it published. Throws when the bus cannot take
   * it (the handler is retried; the sweeper publishes it meanwhile). Failing to record it published is only logged:
   * the event went out, and the sweeper's second copy is dropped downstream.
   */
  async publish(actionId: string, topic: string, event: Envelope): Promise<void> {
    await this.bus.publish(topic as AnyTopic, event as TopicMap[AnyTopic]);
    await this.executions.markOutcomePublished(actionId, event.id).catch((e: Error) => {
      this.logger.warn({ err: e, eventId: event.id }, 'published an outcome event but could not record it; it will be published again');
    });
  }

  /** Publishes the outcomes older than the grace period still to publish; returns how many. Never throws (a timer runs it). */
  sweep(now = new Date()): Promise<number> {
    return this.sweeper.run(now);
  }

  private async sweepOnce(now: Date): Promise<number> {
    let published = 0;
    for (let page = 0, more = true; more && page < 10; page++) {
      const due = await this.executions.unpublishedOutcomes(new Date(now.getTime() - this.settings.graceMs), 100);
      more = due.length === 100;
      for (const o of due) {
        await this.publish(o.actionId, o.topic, o.event);
        published++;
        this.logger.info({ eventId: o.event.id, topic: o.topic, actionId: o.actionId }, 'published an outcome event left unpublished');
      }
    }
    return published;
  }
}
