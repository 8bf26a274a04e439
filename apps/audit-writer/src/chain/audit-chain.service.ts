import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { KeyRing, SigningUnavailableError, TreeHeadPolicy, verifyTreeHead } from '@countersign/audit-chain';
import type { AuditEntry, TreeHead } from '@countersign/audit-chain';
import { DependencyUnavailableError, EventBus, StoreDamagedError } from '@countersign/bus';
import { EventData, TOPICS, TopicMap } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import { EVENT_BUS, LOGGER, METRICS } from '@countersign/nest';
import type { AuditLogRepository, ChainTip } from '../log-store/audit-log.repository';
import { newestHead } from '../log-store/audit-log.repository';
import { AUDIT_LOG, HEAD_POLICY, HEAD_STORE, KEY_RING } from '../tokens';
import type { HeadStore } from './head-store';
import { eventTypeOf, writerEntry, writerEventOptions, WriterTopic } from './writer-entries';

/** The newest signed head does not verify against the writer's keys: the log is not loaded (`checkNewestHead`). */
export class AuditHeadUnverifiedError extends StoreDamagedError {
  constructor(head: TreeHead, problem: string) {
    super(
      `the newest signed head of the audit log (${head.treeSize} entries, key ${JSON.stringify(head.keyId)}) does not verify: ${problem}. ` +
        'Only the writer signs heads, so it was written by someone else: the log is not loaded and nothing is appended until an operator ' +
        'checks it (`npm run countersign -- audit verify --database …` names every head that fails). A head signed by a key the signing ' +
        'keys file no longer lists: list that key again.',
      'the audit log holds a signed head its writer cannot verify: nothing is appended until an operator checks it',
    );
  }
}

/**
 * The newest signed head is the one the writer builds on: entries up to it count as signed, and only a tail past it is
 * said to be unsigned (`audit-unsigned-tail`). A head its keys do not verify was written by someone who can insert rows
 * but holds no key, over entries of their own: taken, it would hide them as signed history, and the writer would sign
 * real heads over it (the embedded mode refuses such a start; red team, 2026-12-07). Refused the same way: the writer does
 * not load the log, so nothing is appended (deliveries wait, redelivered), the log names the head, and `/readyz` says so
 * (`checks.audit-log-head`). A key no longer listed is refused too: list it again in the signing keys file, past its
 * `notAfter` if it must sign nothing more. Throws `AuditHeadUnverifiedError`.
 */
export function checkNewestHead(head: TreeHead, keys: KeyRing): void {
  const check = verifyTreeHead(head, keys.verifierKeys());
  if (!check.ok) throw new AuditHeadUnverifiedError(head, check.problem);
}

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

/** What the load found to record, kept until it is in the log: a retried load appends the same entries. */
interface Found {
  /** The start after a clean stop (`audit.log.resumed.v1`): appended and signed first. */
  resume?: AuditEntry;
  /** One `audit.log.recovered.v1` per finding. */
  recovered: AuditEntry[];
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
 *
 * What the load finds is recorded in the log itself before anything else is appended (docs/adr/0005, addendum of
 * 2026-12-04): entries past the newest signed head, adopted, and torn writes the store set aside, one
 * `audit.log.recovered.v1` entry each; until they are in, `load` is retried on every tick and appends wait (their
 * deliveries are rejected as a dependency failure, so the bus redelivers them). With a store of one writer (the file),
 * a clean stop is recorded too (`audit.log.stopped.v1`, under the final head), and a start on such a log first appends
 * `audit.log.resumed.v1` and signs a head over it: the store refuses anything else past a head that ends in a clean stop.
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
  private loading?: Promise<boolean>;
  private found?: Found;
  /** Why the last load failed: the cause given to the appends that wait for it. */
  private loadError?: unknown;
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

  /** The log's pseudonym key (`AuditLogRepository.pseudonymKey`): the consumer keeps no oracle of masked data in an entry. */
  pseudonymKey(): Promise<Buffer> {
    return this.log.pseudonymKey();
  }

  async onApplicationBootstrap() {
    this.policy = new TreeHeadPolicy(this.headPolicy.everyEntries, this.headPolicy.everyMs, new Date());
    // PostgreSQL away at boot does not stop the service: appends wait for it (the bus retries), the tip is read later.
    await this.ensureLoaded();
    this.timer = setInterval(() => void this.tick(), Math.min(this.headPolicy.everyMs, 1_000));
    this.timer.unref();
  }

  /**
   * A final head covers every entry written, so a log stopped right after its last entry still verifies. With a store of
   * one writer, the stop itself is its last entry: a head that ends in it tells the next start that nothing may follow.
   */
  async onApplicationShutdown() {
    clearInterval(this.timer);
    await this.flushing;
    await this.loading;
    if (this.loaded && this.log.stoppedCleanly)
      await this.appendOwn([this.own(TOPICS.logStopped, { logSize: (await this.log.tip()).size }, new Date())]).catch((e) =>
        this.logger.error({ err: e }, 'could not record the clean stop in the log'),
      );
    await this.maybePublishHead(new Date(), true).catch((e) => this.logger.error({ err: e }, 'the final tree head failed'));
    // Every entry under a signed head: said to the store, which then refuses entries found past it at the next start.
    const last = this.loaded ? await newestHead(this.log).catch(() => undefined) : undefined;
    if (last && last.treeSize === this.tip.size && this.log.stoppedCleanly)
      await this.log.stoppedCleanly(last).catch((e) => this.logger.error({ err: e }, 'could not record the clean stop'));
  }

  /**
   * What the timer runs: reads the tip if boot could not, then retries an unsent head or signs a due one. Never
   * throws: a store error is logged (once per outage) and tried again on the next tick.
   */
  async tick(now = new Date()): Promise<void> {
    if (!this.loaded && !(await this.ensureLoaded())) return;
    await this.guard('head', () => this.maybePublishHead(now));
  }

  /** Loads the log once (one load at a time, whoever asks); true when it is loaded. */
  private ensureLoaded(): Promise<boolean> {
    if (this.loaded) return Promise.resolve(true);
    this.loading ??= this.guard('load', () => this.load()).finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(): Promise<void> {
    try {
      this.found ??= await this.find();
      const found = this.found;
      if (found.resume) {
        // Signed before anything else is appended: past a head that ends in a clean stop, the store takes nothing else.
        await this.appendOwn([found.resume]);
        await this.maybePublishHead(new Date(), true, true);
        if (this.unsent || this.policy.uncovered(this.tip.size))
          throw new Error('the start after a clean stop is not under a signed head yet (no tree-head key can sign): nothing is appended until it is');
        found.resume = undefined;
      }
      if (found.recovered.length) {
        await this.appendOwn(found.recovered);
        found.recovered = [];
      }
      this.loaded = true;
      this.loadError = undefined;
    } catch (e) {
      this.loadError = e;
      throw e;
    }
  }

  /**
   * What the log holds at load that the writer must record: torn writes the store set aside, entries past the newest
   * signed head, and whether that head ends in the writer's clean stop. Read once; the entries are built once.
   */
  private async find(): Promise<Found> {
    const now = new Date();
    const tip = await this.log.tip();
    const newest = await newestHead(this.log);
    if (newest && !this.log.headsVerifiedAtOpen) checkNewestHead(newest, this.keys);
    this.tip = tip;
    const signed = newest?.treeSize ?? 0;
    if (newest) this.policy.published(signed, now);
    const recovered: AuditEntry[] = [];
    // A write cut short by a power loss, set aside by the store as it opened (no head covered it): recorded in the log,
    // and said where the unsigned tail is said, so that an operator can tell it from tampering, which stops the start.
    for (const t of (await this.log.tornWrites?.()) ?? []) {
      this.logger.warn(
        { alert: 'audit-torn-write', file: t.file, line: t.line, bytes: t.bytes, keptAt: t.keptAt },
        `the last line of ${t.file} (line ${t.line}, ${t.bytes} bytes) was cut short, past every signed head (a power loss mid-write leaves one): its bytes were moved to ${t.keptAt} and the file continues from the line before`,
      );
      const data = { kind: 'torn-write' as const, file: t.file, line: t.line, bytes: t.bytes, digest: t.digest, keptAt: t.keptAt, newestSignedHead: signed };
      recovered.push(this.own(TOPICS.logRecovered, data, now));
    }
    // A tail no head covers: an unclean stop leaves one (the final head was not signed). The next head covers it and the
    // entry that says so: if the service stopped cleanly, those entries were added by someone else.
    if (tip.size > signed) {
      this.logger.warn(
        { alert: 'audit-unsigned-tail', from: signed, to: tip.size - 1 },
        `entries ${signed}..${tip.size - 1} were written after the newest signed head (an unclean stop leaves such a tail): the next head covers them and the log records it (${TOPICS.logRecovered}); if the service stopped cleanly, check them against a head kept elsewhere`,
      );
      recovered.push(this.own(TOPICS.logRecovered, { kind: 'unsigned-tail', from: signed, to: tip.size - 1 }, now));
    }
    // The newest head ends in the writer's clean stop: this start is recorded, and signed, before anything else.
    const [last] = this.log.stoppedCleanly && signed > 0 ? await this.log.range(signed - 1, signed) : [];
    const resume = last && eventTypeOf(last) === TOPICS.logStopped ? this.own(TOPICS.logResumed, { stoppedAt: signed - 1 }, now) : undefined;
    return { resume, recovered };
  }

  /** One of the writer's own entries (`writer-entries.ts`), built by the bus as any event is, and never published. */
  private own<T extends WriterTopic>(topic: T, data: EventData<T>, now: Date): AuditEntry {
    return writerEntry(topic, this.bus.envelope(topic, data, writerEventOptions(topic, data, now)));
  }

  /** Appends the writer's own entries (one already there is not appended again: their ids are derived). */
  private async appendOwn(entries: AuditEntry[]): Promise<void> {
    const { appended, ...tip } = await this.log.appendBatch(entries);
    this.tip = tip;
    this.metrics?.counter('countersign_audit_entries_total').inc(appended);
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
          { err: e, step, ...(e instanceof AuditHeadUnverifiedError && { alert: 'audit-head-unverified' }) },
          step === 'load'
            ? 'cannot read the audit log tip or record what its load found; retrying on the next tick'
            : 'cannot publish the tree head; retrying it on the next tick',
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
          // Nothing before the log is loaded and what the load found is recorded: a dependency failure, redelivered.
          if (!this.loaded && !(await this.ensureLoaded()))
            throw new DependencyUnavailableError('the audit log is not loaded yet (retried on the next tick)', { cause: this.loadError });
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
  maybePublishHead(now = new Date(), final = false, loading = false): Promise<void> {
    const run = this.heading.then(() => this.publishHead(now, final, loading));
    this.heading = run.catch(() => undefined);
    return run;
  }

  /** `loading`: the head the load signs over the start after a clean stop, before the log counts as loaded. */
  private async publishHead(now: Date, final: boolean, loading = false): Promise<void> {
    if (this.unsent) await this.send(this.unsent);
    if (!(this.loaded || loading) || !(final ? this.policy.uncovered(this.tip.size) : this.policy.due(this.tip.size, now))) return;
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
