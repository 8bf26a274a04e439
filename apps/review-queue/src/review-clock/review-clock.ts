import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { DecisionSigner, signReviewDecision } from '@countersign/approval';
import { EventBus, serviceActor } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import { EVENT_BUS, LOGGER, METRICS } from '@countersign/nest';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { claimHolds, ClockClaim, ClockStep, DecisionEvent, queuedBy, ReviewItem, ReviewItemRepository } from '../review-item/review-item.repository';
import { APPROVAL_SIGNING_KEY, ESCALATION_NOTIFIER, REVIEW_CLOCK_SETTINGS, REVIEW_ITEMS } from '../tokens';
import { createNoEscalationNotifier, EscalationNotifier } from './escalation-notifier';

export interface ReviewClockSettings {
  /** How often the clock looks for items whose time came (`REVIEW_CLOCK_PERIOD_MS`): the steps are this late at most, plus a busy tick. */
  periodMs: number;
  /** What time it is: the wall clock, or a test's fake one. */
  now: () => Date;
  /** Items claimed per transaction; a tick claims again while batches come full. */
  batch: number;
  /** How old an escalation's event must be before a tick publishes it again (its own tick publishes it at once). */
  graceMs: number;
}

export const DEFAULT_REVIEW_CLOCK: ReviewClockSettings = { periodMs: 1_000, now: () => new Date(), batch: 100, graceMs: 5_000 };

/** The reason code of an item that expired: its SLA ran out with no decision. */
export const SLA_EXPIRED = 'sla_expired';

/**
 * The review clock: every tick it claims the pending approvals whose time came (`ReviewItemRepository.claimDue`, an
 * atomic claim shared by every instance) and takes one step on each:
 * - at the escalation time (a share of the SLA): the item escalates once, its required roles gain the next tier (the
 *   original ones keep their say), a signed `escalated` decision goes out (it changes nothing at the executor), and a
 *   notice is sent;
 * - at the due time: an item with a fallback team not yet re-routed goes to that team once, with a new due time
 *   (the class SLA again); any other **expires**: final, reason `sla_expired`, a signed `expired` decision through the
 *   decision outbox, and the executor never runs it. A timeout never approves, whatever the contract says.
 * The times live with the items, so a restart loses none; a step is taken once, by one instance.
 */
@Injectable()
export class ReviewClock implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<number>;
  private failing = false;
  private readonly notices = new Set<Promise<void>>();
  private readonly settings: ReviewClockSettings;
  private readonly notifier: EscalationNotifier;
  private readonly actor = serviceActor('review-queue');

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(APPROVAL_SIGNING_KEY) private readonly key: DecisionSigner,
    private readonly outbox: DecisionOutbox,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(ESCALATION_NOTIFIER) notifier?: EscalationNotifier,
    @Optional() @Inject(REVIEW_CLOCK_SETTINGS) settings?: Partial<ReviewClockSettings>,
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
  ) {
    this.notifier = notifier ?? createNoEscalationNotifier();
    this.settings = { ...DEFAULT_REVIEW_CLOCK, ...settings };
  }

  onApplicationBootstrap() {
    this.timer = setInterval(() => void this.tick(), this.settings.periodMs);
    this.timer.unref();
  }

  async onApplicationShutdown() {
    clearInterval(this.timer);
    await this.ticking;
    await Promise.allSettled(this.notices);
  }

  /**
   * Takes the steps that are due and publishes their events; returns how many steps it took. Never throws (it runs on
   * a timer): a store or bus outage is logged once and the next tick tries again, and a step whose event could not be
   * published is published by a later tick (escalations) or the decision outbox's sweeper (expiries). One tick at a
   * time per instance.
   */
  tick(): Promise<number> {
    this.ticking ??= this.tickOnce(this.settings.now()).finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async tickOnce(now: Date): Promise<number> {
    let taken = 0;
    try {
      for (let page = 0, more = true; more && page < 10; page++) {
        const claims = await this.items.claimDue(now, this.settings.batch, (item) => this.stepFor(item, now));
        more = claims.length === this.settings.batch;
        taken += claims.length;
        for (const claim of claims) await this.announce(claim);
      }
      await this.publishLeftOver(now);
      if (this.failing) this.logger.warn({ taken }, 'the review clock runs again');
      this.failing = false;
    } catch (e) {
      if (!this.failing) this.logger.error({ err: e, taken }, 'the review clock cannot take its steps; retrying on the next tick');
      this.failing = true;
    }
    return taken;
  }

  /** The step due on a claimed item at `now`: the due time first (it may have passed the escalation time too, after a long stop). */
  private stepFor(item: ReviewItem, now: Date): ClockStep | undefined {
    if (Date.parse(item.dueAt) <= now.getTime()) {
      if (item.fallbackTeam && !item.reroutedAt) {
        const slaSeconds = item.slaSeconds ?? Math.max(1, Math.round((Date.parse(item.dueAt) - Date.parse(item.createdAt)) / 1000));
        const dueAt = new Date(now.getTime() + slaSeconds * 1000).toISOString();
        const requiredRoles = [item.fallbackTeam];
        const reason = `no decision within the ${item.slaClass} SLA: re-routed once to the fallback team ${item.fallbackTeam}, due ${dueAt}`;
        return {
          kind: 'reroute',
          requiredRoles,
          dueAt,
          event: this.event(item, 'escalated', reason, now, { kind: 'rerouted', requiredRoles, dueAt }),
        };
      }
      // Fail closed: an item nobody decided in time is never executed. Nothing here can approve.
      const reason = `${SLA_EXPIRED}: no decision within the ${item.slaClass} SLA (due ${item.dueAt}); the action will not be executed`;
      return { kind: 'expire', by: [this.actor.id], reason, event: this.event(item, 'expired', reason, now) };
    }
    if (item.escalateAt && Date.parse(item.escalateAt) <= now.getTime()) {
      const requiredRoles = [...new Set([...item.requiredRoles, ...(item.escalateTo ?? [])])];
      const gained = requiredRoles.filter((r) => !item.requiredRoles.includes(r));
      const reason = `still undecided past its escalation time: escalated${gained.length ? ` to ${gained.join(', ')}` : ''}, due ${item.dueAt}`;
      return {
        kind: 'escalate',
        requiredRoles,
        event: this.event(item, 'escalated', reason, now, { kind: 'escalated', requiredRoles, dueAt: item.dueAt }),
      };
    }
    return undefined;
  }

  /**
   * The signed event of a step, built inside the claim (it is stored with the step). The review queue signs it as the
   * decider; an escalation's event id is derived from its step (`clock-<n>`), so it never takes the id of the item's
   * final decision, which consumers would then drop as a copy.
   */
  private event(
    item: ReviewItem,
    decision: 'expired' | 'escalated',
    reason: string,
    now: Date,
    escalation?: { kind: 'escalated' | 'rerouted'; requiredRoles: string[]; dueAt: string },
  ): DecisionEvent {
    // Who sat on it: the reviewer whose claim held when its time came, named so the audit trail says so (red team,
    // 2026-12-05: claims are only logged, and an expired item's trail named no one).
    const claimedBy = claimHolds(item.claim, now) ? item.claim.by : undefined;
    const signature = signReviewDecision(this.key, {
      decision,
      actionId: item.actionId,
      digest: item.digest,
      deciders: [this.actor.id],
      reasons: [reason],
      issuedAt: now.toISOString(),
    });
    return {
      topic: TOPICS.reviewDecided,
      event: this.bus.envelope(
        TOPICS.reviewDecided,
        {
          decision,
          reviewers: [this.actor],
          reason,
          digest: item.digest,
          signature,
          ...(escalation ? { escalation } : { reasonCode: SLA_EXPIRED }),
          ...(claimedBy !== undefined && { claimedBy }),
        },
        { cause: queuedBy(item), actor: this.actor, time: now, ...(escalation && { discriminator: `clock-${(item.clockStep ?? 0) + 1}` }) },
      ),
    };
  }

  /**
   * Publishes a step's event and sends an escalation's notice. The step is stored with its event already: an event the
   * bus does not take now goes out later (a later tick for an escalation, the decision outbox's sweeper for an expiry).
   */
  private async announce({ step, item, event }: ClockClaim): Promise<void> {
    // Counted once per step: the claim is atomic over every instance, and the step is taken even if its event goes out later.
    // A re-route to the fallback team is an escalation (its decision is `escalated`).
    this.metrics
      ?.counter(step === 'expire' ? 'countersign_review_items_expired_total' : 'countersign_review_items_escalated_total')
      .inc({ sla_class: item.slaClass });
    this.logger.info(
      { actionId: item.actionId, step, slaClass: item.slaClass, requiredRoles: item.requiredRoles, dueAt: item.dueAt },
      `review ${step}d by the clock`,
    );
    try {
      if (step === 'expire') await this.outbox.publish(item.actionId, event);
      else {
        await this.bus.publish(event.topic, event.event);
        await this.items.markClockEventPublished(event.event.id, new Date());
      }
    } catch (e) {
      this.logger.warn({ err: e, eventId: event.event.id, step }, 'could not publish the review clock step now; it is stored and goes out later');
    }
    if (step !== 'expire') {
      // Not awaited: a slow or failing chat channel delays no other step.
      const notice = this.notifier.notify({
        kind: step === 'escalate' ? 'escalated' : 'rerouted',
        actionId: item.actionId,
        actionType: item.proposal.actionType,
        slaClass: item.slaClass,
        dueAt: item.dueAt,
      });
      this.notices.add(notice);
      void notice.finally(() => this.notices.delete(notice));
    }
  }

  /** Escalation events a tick stored but could not publish (the bus was down, the process stopped): published now. */
  private async publishLeftOver(now: Date): Promise<void> {
    for (const left of await this.items.unpublishedClockEvents(new Date(now.getTime() - this.settings.graceMs), this.settings.batch)) {
      await this.bus.publish(left.topic, left.event);
      await this.items.markClockEventPublished(left.event.id, new Date());
      this.logger.info({ eventId: left.event.id, actionId: left.actionId }, 'published an escalation event left unpublished');
    }
  }
}
