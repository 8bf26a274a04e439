import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { EventBus, PublishError } from '@countersign/bus';
import type { Logger } from '@countersign/logging';
import { EVENT_BUS, LOGGER, Sweeper } from '@countersign/nest';
import { DECISION_OUTBOX_SETTINGS, REVIEW_ITEMS } from '../tokens';
import { DecideWith, DecisionEvent, ReviewItem, ReviewItemRepository, ReviewStatus } from './review-item.repository';

export interface DecisionOutboxSettings {
  /** How often the sweeper looks for decisions whose event is still to publish. */
  sweepEveryMs: number;
  /**
   * How old a decision must be before the sweeper publishes its event: the reviewer's own call publishes it at
   * once, and the sweeper is for the decisions whose call could not (the bus was down, the process stopped).
   */
  graceMs: number;
}

export const DEFAULT_DECISION_OUTBOX: DecisionOutboxSettings = { sweepEveryMs: 5_000, graceMs: 5_000 };

/**
 * Publishes the events of decisions: the one a reviewer's call just stored with its decision, and, every few seconds,
 * those still unpublished (the bus was down when the decision was made, or the process stopped right after it). A
 * decision stored is thus always heard of in the end. Every event has an id derived from its cause, so publishing it
 * twice (two instances sweeping at once, a sweep racing the call) is harmless: consumers drop the copy.
 */
@Injectable()
export class DecisionOutbox implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly settings: DecisionOutboxSettings;
  private readonly sweeper: Sweeper;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(DECISION_OUTBOX_SETTINGS) settings?: Partial<DecisionOutboxSettings>,
  ) {
    this.settings = { ...DEFAULT_DECISION_OUTBOX, ...settings };
    this.sweeper = new Sweeper((now) => this.sweepOnce(now), this.settings.sweepEveryMs, logger, 'decision events left unpublished');
  }

  onApplicationBootstrap() {
    this.sweeper.start();
  }

  async onApplicationShutdown() {
    await this.sweeper.stop();
  }

  /**
   * Decides a pending item and stores the decision's event with it, in one write; then publishes the event. Returns
   * the decided item, or undefined when it was no longer pending (another decision won: nothing stored, nothing
   * published). Throws when the bus cannot take the event: the decision stands, and its event goes out later.
   */
  async decide(
    itemKey: string,
    status: Exclude<ReviewStatus, 'pending'>,
    by: string[],
    reason: string,
    at: Date,
    decision: DecisionEvent,
    with_?: DecideWith,
  ): Promise<ReviewItem | undefined> {
    const decided = await this.items.decide(itemKey, status, by, reason, at, decision, with_);
    if (decided) {
      await this.bus.publish(decision.topic, decision.event);
      // The published mark is not waited for (docs/adr/0028): the answer does not depend on it, and a mark lost (a crash,
      // an error) only means the sweeper publishes the event again, a copy its consumers drop.
      void this.record(itemKey, decision);
    }
    return decided;
  }

  /** Publishes the event stored with an item's decision if it is still unpublished (a retried call); throws when the bus cannot take it. */
  async publishIfDue(itemKey: string): Promise<void> {
    const stored = await this.items.decisionEvent(itemKey);
    if (stored && !stored.publishedAt) await this.publish(itemKey, stored);
  }

  /**
   * Publishes a decision's stored event and records it published. Throws when the bus cannot take it (the caller
   * answers 503; the decision stays, and the sweeper publishes it later). Failing to record it published is only
   * logged: the event went out, and the sweeper's second copy is dropped by its consumers.
   */
  async publish(itemKey: string, decision: DecisionEvent): Promise<void> {
    await this.publishAndRecord(itemKey, decision);
  }

  /** Whether it was also recorded published. */
  private async publishAndRecord(itemKey: string, decision: DecisionEvent): Promise<boolean> {
    await this.bus.publish(decision.topic, decision.event);
    return this.record(itemKey, decision);
  }

  /** Records a published event published; whether that worked (never throws: a failure is only logged). */
  private async record(itemKey: string, decision: DecisionEvent): Promise<boolean> {
    try {
      await this.items.markPublished(itemKey, new Date());
      return true;
    } catch (e) {
      this.logger.warn({ err: e, eventId: decision.event.id }, 'published a decision event but could not record it; it will be published again');
      return false;
    }
  }

  /**
   * Publishes the events of decisions older than the grace period that are still unpublished, oldest first, and
   * returns how many it published. Stops at the first failure of the bus or the store (the next sweep tries again),
   * goes on past an event the bus refuses for good (its schema or size; logged at error), and never throws: it runs on
   * a timer. One sweep at a time per instance.
   */
  sweep(now = new Date()): Promise<number> {
    return this.sweeper.run(now);
  }

  private async sweepOnce(now: Date): Promise<number> {
    let published = 0;
    // Pages of 100 while they come full and were all recorded (what was not would come back again), 10 at most.
    for (let page = 0, more = true; more && page < 10; page++) {
      const due = await this.items.unpublished(new Date(now.getTime() - this.settings.graceMs), 100);
      more = due.length === 100;
      for (const d of due) {
        try {
          more = (await this.publishAndRecord(d.actionId, d)) && more;
        } catch (e) {
          // An event the bus refuses for good (its schema or size) is not retried into the way of every later one: the
          // sweep goes on past it, and says so at each sweep. A bus that is away stops the sweep as before.
          if (!(e instanceof PublishError)) throw e;
          this.logger.error({ err: e, eventId: d.event.id, actionId: d.actionId }, 'a decision event the bus refuses for good; the sweep goes on past it');
          more = false;
          continue;
        }
        published++;
        this.logger.info({ eventId: d.event.id, topic: d.topic, decidedAt: d.decidedAt }, 'published a decision event left unpublished');
      }
    }
    return published;
  }
}
