import { Inject, Injectable, OnModuleDestroy, Optional } from '@nestjs/common';
import type { Logger } from '@countersign/logging';
import { KeyedSlots } from '@countersign/limits';
import { LOGGER } from '@countersign/nest';
import { holdsItemRole, ItemReader, servesTenantOf } from '../review-item/item-roles';
import { claimHolds, LeftItem, ReviewItem, ReviewItemRepository } from '../review-item/review-item.repository';
import { INBOX_OPTIONS, REVIEW_ITEMS } from '../tokens';
import type { InboxOptions } from './inbox.options';

/** A change an inbox shows live: an item arrived, changed (escalated, re-routed), or left the queue (decided, expired). */
export interface InboxChange {
  type: 'arrived' | 'changed' | 'decided' | 'expired';
  actionId: string;
  /** The roles that may decide it (as it stood): a watcher hears only of items they may decide. */
  requiredRoles: string[];
  /** Its tenant (`proposal.tenant`): a reviewer bound to tenants hears only of theirs (ADR 0052). */
  proposal: { tenant: string };
}

type Listener = (change: InboxChange) => void;

/**
 * Whether `reviewer`'s live stream tells them of `change`: an item of a tenant they serve, in a role they hold. Another
 * tenant's arrivals and decisions are not theirs to hear of, even as a bare action id (ADR 0052).
 */
export const hearsOf = (reviewer: ItemReader, change: InboxChange): boolean => servesTenantOf(reviewer, change) && holdsItemRole(change, reviewer.roles);

/**
 * How many live streams one reviewer may hold open at once (tabs, windows, a reconnect before the old stream closed).
 * One session opened 1,500 and was answered every one (red team, 2026-12-05): each holds a socket and a watcher.
 */
export const MAX_STREAMS_PER_REVIEWER = 8;

/** How many pending items one look compares: the inbox's horizon. */
const HORIZON = 1000;
/**
 * How long a look may take before the feed gives up on it and looks again: a query that never answers (a connection
 * the network dropped without a word) must not freeze the feed for good.
 */
const LOOK_TIMEOUT_MS = 10_000;
/**
 * How far before the last look's start the feed asks what left the queue: a decision's time is its decider's clock,
 * taken before its commit (a group commit under load, another instance's clock), so a decision the last look could not
 * see may carry a time a little before that look began.
 */
const LEFT_MARGIN_MS = 10_000;

/**
 * The inbox's live feed. It looks at the review items themselves (the record of truth every instance shares) while
 * someone watches, and tells watchers what arrived, changed or left since the last look: so a decision taken through
 * another instance, the JSON API or the review clock shows up too, with nothing added to the places that change items.
 * A decision taken through this inbox asks for a look at once (`nudge`).
 */
@Injectable()
export class InboxFeed implements OnModuleDestroy {
  private readonly listeners = new Set<Listener>();
  /** Live streams open, by reviewer (`openStream`). */
  private readonly streams = new KeyedSlots(MAX_STREAMS_PER_REVIEWER);
  private known?: Map<string, { item: ReviewItem; print: string }>;
  /** When the look that took `known` began (this clock). */
  private knownAt?: number;
  /** Items told (or pictured) as gone, by when they left (ms): each is told once while a later look may read it again. */
  private readonly toldLeft = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private looking?: Promise<void>;
  private again = false;
  /** Counts the times the feed stopped or gave up on a look: a look begun before neither keeps its picture nor tells anyone. */
  private generation = 0;
  private readonly periodMs: number;
  /** Settles when the feed (re)gains its starting picture after a stop. */
  private pictured = settleable();

  constructor(
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    @Inject(INBOX_OPTIONS) options: InboxOptions,
    @Optional() @Inject(LOGGER) private readonly logger?: Logger,
  ) {
    this.periodMs = options.feedPeriodMs ?? 1_000;
  }

  /**
   * Takes one of `reviewer`'s live-stream slots (`MAX_STREAMS_PER_REVIEWER`): its release (once; a second call does
   * nothing), or undefined when all are taken. The reviewers counted are those with a stream open.
   */
  openStream(reviewer: string): (() => void) | undefined {
    return this.streams.take(reviewer);
  }

  /**
   * Calls `listener` with every change from now on. `ready` settles once the feed has its starting picture: a change
   * after it is told; what came before it, a watcher reads from the items (the page's list, fetched again).
   */
  watch(listener: Listener): { stop: () => void; ready: Promise<void> } {
    this.listeners.add(listener);
    if (!this.timer) {
      this.timer = setInterval(() => this.nudge(), this.periodMs);
      // Watchers are streams the server holds open: the feed alone keeps no process (a test's) alive.
      this.timer.unref();
      this.nudge();
    }
    return {
      stop: () => {
        this.listeners.delete(listener);
        if (this.listeners.size === 0) this.stop();
      },
      ready: this.pictured.promise,
    };
  }

  /** Looks now (after a decision through this inbox); a look already under way is followed by one more. */
  nudge(): void {
    if (this.looking) {
      this.again = true;
      return;
    }
    this.looking = within(this.look(), LOOK_TIMEOUT_MS, () => this.generation++)
      .catch((e: Error) => this.logger?.warn({ err: e }, 'the inbox could not look at the review items; it will look again'))
      .finally(() => {
        this.looking = undefined;
        if (this.again && this.listeners.size) {
          this.again = false;
          this.nudge();
        }
      });
  }

  onModuleDestroy() {
    this.listeners.clear();
    this.stop();
  }

  private stop() {
    clearInterval(this.timer);
    this.timer = undefined;
    this.generation++;
    if (this.known) this.pictured = settleable();
    // No one watches: the next watcher starts from a fresh look, not from a stale picture.
    this.known = undefined;
    this.knownAt = undefined;
    this.toldLeft.clear();
  }

  private async look(): Promise<void> {
    const generation = this.generation;
    const startedAt = Date.now();
    const since = (this.knownAt ?? startedAt) - LEFT_MARGIN_MS;
    // Read before the pending items: what leaves in between is missing from both, and the next look reads it here.
    const left = new Map((await this.items.leftSince(new Date(since), HORIZON)).map((l) => [l.actionId, l]));
    const now = new Map((await this.items.pending(HORIZON)).map((item) => [item.actionId, { item, print: fingerprint(item) }]));
    // Everyone stopped watching while this look read: its picture may be older than the next watcher's page.
    if (generation !== this.generation) return;
    const before = this.known;
    this.known = now;
    this.knownAt = startedAt;
    for (const [actionId, at] of this.toldLeft) if (at < since) this.toldLeft.delete(actionId);
    this.pictured.settle();
    // The first look is the starting picture: the page a watcher opened shows it already, and what left before it is
    // no news either.
    if (!before) {
      for (const l of left.values()) this.toldLeft.set(l.actionId, Date.parse(l.decidedAt));
      return;
    }
    for (const [actionId, { item, print }] of now) {
      const was = before.get(actionId);
      if (!was) this.tell({ type: 'arrived', actionId, requiredRoles: item.requiredRoles, proposal: { tenant: item.proposal.tenant } });
      else if (was.print !== print) this.tell({ type: 'changed', actionId, requiredRoles: item.requiredRoles, proposal: { tenant: item.proposal.tenant } });
    }
    for (const [actionId, { item }] of before) {
      if (now.has(actionId)) continue;
      const gone = left.get(actionId) ?? (await this.items.get(actionId));
      // Still pending but past the horizon (a burst of more urgent items): not gone, so nothing to tell.
      if (gone?.status === 'pending') continue;
      this.tellLeft({ ...item, status: gone?.status, decidedAt: gone?.decidedAt ?? new Date(startedAt).toISOString() });
    }
    // An item that arrived and left between two looks was in neither picture, but a page that fetched its list in
    // between shows it: it is told as gone too (a page not showing it fetches its list again, and finds nothing new).
    for (const l of left.values()) if (!before.has(l.actionId) && !now.has(l.actionId)) this.tellLeft(l);
  }

  /** Tells of an item that left the queue, once (as decided unless it expired; one no longer found, as decided). */
  private tellLeft(l: Omit<LeftItem, 'status'> & { status?: LeftItem['status'] }) {
    if (this.toldLeft.has(l.actionId)) return;
    this.toldLeft.set(l.actionId, Date.parse(l.decidedAt));
    this.tell({
      type: l.status === 'expired' ? 'expired' : 'decided',
      actionId: l.actionId,
      requiredRoles: l.requiredRoles,
      proposal: { tenant: l.proposal.tenant },
    });
  }

  private tell(change: InboxChange) {
    for (const listener of this.listeners) listener(change);
  }
}

/** `work`, or an error once `ms` have passed first (then `abandon` is called, so that the work's late result is dropped). */
function within(work: Promise<void>, ms: number, abandon: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandon();
      reject(new Error(`a look at the review items took more than ${ms} ms`));
    }, ms);
    timer.unref();
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

const settleable = () => {
  let settle!: () => void;
  const promise = new Promise<void>((resolve) => (settle = resolve));
  return { promise, settle };
};

/**
 * What a reviewer would see change on an item still pending: its roles, due time, escalation, who approved so far, and
 * who holds a claim on it now (not until when: a renewal is no news, a claim taken, released or run out is).
 */
const fingerprint = (i: ReviewItem) =>
  JSON.stringify([
    i.requiredRoles,
    i.dueAt,
    i.escalateAt ?? null,
    i.escalatedAt ?? null,
    i.reroutedAt ?? null,
    i.approvedBy ?? null,
    claimHolds(i.claim, new Date()) ? i.claim.by : null,
  ]);
