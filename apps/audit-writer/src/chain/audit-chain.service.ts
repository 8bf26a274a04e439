import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { KeyRing, SigningUnavailableError, TreeHeadPolicy } from '@countersign/audit-chain';
import type { AuditEntry, TreeHead } from '@countersign/audit-chain';
import { EventBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import { EVENT_BUS, LOGGER, METRICS } from '@countersign/nest';
import type { AuditLogRepository, ChainTip } from '../log-store/audit-log.repository';
import { AUDIT_LOG, HEAD_POLICY, HEAD_STORE, KEY_RING } from '../tokens';
import type { HeadStore } from './head-store';

interface Pending {
  entry: AuditEntry;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** A signed head on its way out: to the log's table, the head store, the bus, in that order; retried until it is out. */
interface UnsentHead {
  head: TreeHead;
  event: TopicMap[typeof TOPICS.treeHeadPublished];
  saved: boolean;
  kept: boolean;
}

export interface HeadPolicyOptions {
  everyEntries: number;
  everyMs: number;
}

/**
 * Appends entries to the hash-chained log in batches (concurrent deliveries share one transaction), and
 * publishes signed tree heads every N entries or T seconds: to the database, the append-only head
 * store, and the tree-head topic. With no valid signing key it stops signing and alerts (fail closed);
 * entries are still recorded, and /readyz reports the signer unhealthy.
 *
 * A store (or bus) outage never escapes a timer or a batch: an append that fails rejects its entries' deliveries
 * with the store's own error, which the bus recognises as a dependency failure and redelivers until the store is
 * back; a signed head that could not be saved, kept or published is retried, the same head, on every tick until it
 * is out (no new head is signed meanwhile: the next one covers everything); a tip that could not be read at boot is
 * read on a later tick. Each is logged once per outage.
 */
@Injectable()
export class AuditChainService implements OnApplicationBootstrap, OnApplicationShutdown {
  private queue: Pending[] = [];
  private flushing?: Promise<void>;
  private tip: ChainTip = { size: 0, root: '' };
  private policy!: TreeHeadPolicy;
  private timer?: NodeJS.Timeout;
  private unsent?: UnsentHead;
  private loaded = false;
  /** Head work one at a time (the timer and a batch both ask): a head is signed and sent once. */
  private heading: Promise<void> = Promise.resolve();
  /** The step failing now (`load`, `head`), so an outage is logged once, and its end too. */
  private failing = new Set<string>();

  constructor(
    @Inject(AUDIT_LOG) private readonly log: AuditLogRepository,
    @Inject(KEY_RING) private readonly keys: KeyRing,
    @Inject(HEAD_STORE) private readonly headStore: HeadStore,
    @Inject(HEAD_POLICY) private readonly headPolicy: HeadPolicyOptions,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
  ) {}

  async onApplicationBootstrap() {
    this.policy = new TreeHeadPolicy(this.headPolicy.everyEntries, this.headPolicy.everyMs, new Date());
    // PostgreSQL away at boot does not stop the service: appends wait for it (the bus retries), the tip is read later.
    await this.guard('load', () => this.load());
    this.timer = setInterval(() => void this.tick(), Math.min(this.headPolicy.everyMs, 1_000));
    this.timer.unref();
  }

  /** A final head covers every entry written, so a log stopped right after its last entry still verifies. */
  async onApplicationShutdown() {
    clearInterval(this.timer);
    await this.flushing;
    await this.maybePublishHead(new Date(), true).catch((e) => this.logger.error({ err: e }, 'the final tree head failed'));
    // Every entry under a signed head: said to the store, which then refuses entries found past it at the next start.
    const last = this.loaded ? (await this.log.heads().catch(() => [])).at(-1) : undefined;
    if (last && last.treeSize === this.tip.size && this.log.stoppedCleanly)
      await this.log.stoppedCleanly(last).catch((e) => this.logger.error({ err: e }, 'could not record the clean stop'));
  }

  /**
   * What the timer runs: reads the tip if boot could not, then retries an unsent head or signs a due one. Never
   * throws: a store error is logged (once per outage) and tried again on the next tick.
   */
  async tick(now = new Date()): Promise<void> {
    if (!this.loaded && !(await this.guard('load', () => this.load()))) return;
    await this.guard('head', () => this.maybePublishHead(now));
  }

  private async load(): Promise<void> {
    const tip = await this.log.tip();
    const heads = await this.log.heads();
    // Appends made meanwhile moved the tip on: keep the longer one.
    if (tip.size >= this.tip.size) this.tip = tip;
    const signed = heads.length ? heads[heads.length - 1].treeSize : 0;
    if (heads.length) this.policy.published(signed, new Date());
    // A write cut short by a power loss, set aside by the store as it opened (no head covered it): said where the
    // unsigned tail is said, so that an operator can tell it from tampering, which stops the start instead.
    for (const t of (await this.log.tornWrites?.()) ?? [])
      this.logger.warn(
        { alert: 'audit-torn-write', file: t.file, line: t.line, bytes: t.bytes, keptAt: t.keptAt },
        `the last line of ${t.file} (line ${t.line}, ${t.bytes} bytes) was cut short, past every signed head (a power loss mid-write leaves one): its bytes were moved to ${t.keptAt} and the file continues from the line before`,
      );
    // A tail no head covers: an unclean stop leaves one (the final head was not signed). The next head covers it, so
    // say so where an operator looks: if the service stopped cleanly, those entries were added by someone else.
    if (tip.size > signed)
      this.logger.warn(
        { alert: 'audit-unsigned-tail', from: signed, to: tip.size - 1 },
        `entries ${signed}..${tip.size - 1} were written after the newest signed head (an unclean stop leaves such a tail): the next head covers them; if the service stopped cleanly, check them against a head kept elsewhere`,
      );
    this.loaded = true;
  }

  /** Runs `step`; true when it succeeded. A failure is logged when the step starts failing, and its recovery. */
  private async guard(step: 'load' | 'head', run: () => Promise<void>): Promise<boolean> {
    try {
      await run();
      if (this.failing.delete(step)) this.logger.warn({ step }, step === 'load' ? 'the audit log tip is read' : 'tree heads are published again');
      return true;
    } catch (e) {
      if (!this.failing.has(step)) {
        this.logger.error(
          { err: e, step },
          step === 'load' ? 'cannot read the audit log tip; retrying on the next tick' : 'cannot publish the tree head; retrying it on the next tick',
        );
      }
      this.failing.add(step);
      return false;
    }
  }

  /** Resolves once the entry is durable (or was already there). */
  append(entry: AuditEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!this.flushing) this.flushing = new Promise<void>((r) => setImmediate(r)).then(() => this.flush());
    });
  }

  signerHealthy(): boolean {
    return this.keys.health(new Date()).healthy;
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, 1_000);
        try {
          const { appended, ...tip } = await this.log.appendBatch(batch.map((p) => p.entry));
          this.tip = tip;
          // Only the new entries: a redelivered event is in the log once, and counted once.
          this.metrics?.counter('countersign_audit_entries_total').inc(appended);
          batch.forEach((p) => p.resolve());
        } catch (e) {
          // The store's own error, as it is: the bus redelivers on a dependency failure (PostgreSQL away) and
          // dead-letters only what is wrong with the events themselves.
          batch.forEach((p) => p.reject(e));
        }
        await this.tick();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /**
   * Signs and publishes a head for the current tip when the policy says one is due (or, `final`, whenever the log
   * grew); first, the head signed before that is not out yet, if any. Throws when the store or the bus fails: that
   * head is kept and tried again.
   */
  maybePublishHead(now = new Date(), final = false): Promise<void> {
    const run = this.heading.then(() => this.publishHead(now, final));
    this.heading = run.catch(() => undefined);
    return run;
  }

  private async publishHead(now: Date, final: boolean): Promise<void> {
    if (this.unsent) await this.send(this.unsent);
    if (!this.loaded || !(final ? this.policy.uncovered(this.tip.size) : this.policy.due(this.tip.size, now))) return;
    let head;
    try {
      head = this.keys.sign(this.tip.size, Buffer.from(this.tip.root, 'hex'), now);
    } catch (e) {
      if (e instanceof SigningUnavailableError) {
        this.logger.error({ alert: 'audit-tree-head-signing', reason: e.message }, 'tree heads are no longer signed: failing closed');
        return;
      }
      throw e;
    }
    this.policy.published(head.treeSize, now);
    // Every head is one link of the log's own chain, keyed by the log: consumers see them in order. Built once, so a
    // retried head is the same event (consumers drop a second copy).
    const event = this.bus.envelope(TOPICS.treeHeadPublished, head, { subject: 'audit-log', correlationId: 'audit-log', time: now });
    this.unsent = { head, event, saved: false, kept: false };
    await this.send(this.unsent);
  }

  /** Each step is idempotent (a head saved twice is kept once; the head store keeps a file once; the event has one id). */
  private async send(u: UnsentHead): Promise<void> {
    if (!u.saved) {
      await this.log.saveHead(u.head);
      u.saved = true;
    }
    if (!u.kept) {
      this.headStore.write(u.head);
      u.kept = true;
    }
    await this.bus.publish(TOPICS.treeHeadPublished, u.event);
    if (this.unsent === u) this.unsent = undefined;
  }
}
