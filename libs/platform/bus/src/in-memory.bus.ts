import { AnyTopic, COMPACTED_TOPICS, EventData, RETAINED_TOPICS, Topic, TopicMap } from '@countersign/contracts';
import { createLogger, Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import type { BrokerStore, CommittedOffset, StoredBrokerMessage } from './broker-store';
import { encode } from './codec';
import { deliver, PartitionLanes, Semaphore } from './dispatch';
import { buildEnvelope, EmitOptions } from './envelope';
import { DEFAULT_CONCURRENCY, DEFAULT_RETRY, EventBus, HandlerMap, RetryPolicy, SubscribeOptions, Subscription } from './port';
import { partitionFor } from './partitioner';
import { CatchUp } from './catch-up';
import { BusMetrics } from './bus-metrics';
import { MessageHeaders, publishInSpan } from './trace-context';

/** Messages a partition hands over at once, like one Kafka fetch. */
const MAX_BATCH = 500;
/** Events a partition's lanes may hold before the pump waits (as the Kafka adapter's). */
const MIN_OUTSTANDING = 256;

interface StoredMessage {
  key: string | null;
  value: Buffer;
  /** Kept in memory only (a `BrokerStore` keeps key and value): a message read back after a restart starts a new trace. */
  headers?: MessageHeaders;
}

/** What stands in a partition's log for a message trimmed away: one shared object, so a trimmed slot costs a pointer. */
const TRIMMED: StoredMessage = Object.freeze({ key: null, value: Buffer.alloc(0) });

/**
 * How many of a partition's newest messages below every group's stored position are kept all the same: the embedded
 * host's start looks up the audit log's newest events in the bus log (home-progress.ts, 20 of them), and a stored
 * position may trail what was handled by a moment.
 */
export const KEEP_PER_PARTITION = 100;
/** How often, at most, the log is trimmed (after consumer positions are stored). */
const TRIM_EVERY_MS = 60_000;

interface Member {
  id: number;
  handlers: HandlerMap;
  retry: RetryPolicy;
  logger: Logger;
  closed: boolean;
  /** Handlers in flight for this member, over all its partitions. */
  slots: Semaphore;
  deadLetter: (topic: AnyTopic, event: TopicMap[AnyTopic]) => Promise<void>;
  /** A replayed subscription (reads from the beginning each start): its position is never stored. */
  replay?: boolean;
  /** Deliveries under way or queued for this member: closing waits for them, as a Kafka consumer's disconnect does. */
  inFlight: Set<Promise<void>>;
  /** Hears each handled prefix (a replayed subscription that wants to know when it has caught up). */
  catchUp?: CatchUp;
}

interface GroupState {
  members: Member[];
  /** topic → next offset to deliver, per partition (the group's committed position). */
  committed: Map<string, number[]>;
  /** `${topic}/${partition}` currently being pumped. */
  pumping: Set<string>;
  /**
   * Per `${topic}/${partition}`: the lanes its owner delivers it through (a batch is not a barrier), and the next
   * offset to hand them. A new owner gets new lanes, from the committed position.
   */
  lanes: Map<string, { member: Member; lanes: PartitionLanes; next: number }>;
}

/** Log rows written to the store in one statement at most. */
const MAX_WRITE = 1_000;
/** How often consumer positions are written to the store, at most. */
const COMMIT_EVERY_MS = 100;

/** The `id` of the envelope a message's value encodes (JSON), or undefined when it is not one. */
function envelopeTimeOf(value: Buffer): string | undefined {
  try {
    const time = (JSON.parse(value.toString('utf8')) as { time?: unknown } | null)?.time;
    return typeof time === 'string' ? time : undefined;
  } catch {
    return undefined;
  }
}

function envelopeIdOf(value: Buffer): unknown {
  try {
    return (JSON.parse(value.toString('utf8')) as { id?: unknown } | null)?.id;
  } catch {
    return undefined;
  }
}

/**
 * The process-wide log that in-memory buses share, like a broker that several clients connect to.
 * Messages are kept for the life of the process (the embedded mode's scale), partitioned by key.
 *
 * With a `BrokerStore` (`InMemoryBroker.open(store)`) the log and each group's committed positions are also
 * written to it, so a restart (or a kill -9) loses nothing that was published: a publish resolves once its
 * message is stored, a message is delivered only once stored (so no position can run ahead of the stored log),
 * and on start each group resumes from its stored position (what it had handled but not yet recorded is
 * delivered again: consumers are idempotent, as with Kafka). If the store fails, the broker stops taking
 * messages (publishes reject, `failure` is set) rather than deliver what is not stored.
 *
 * With a store the log is trimmed (`trim`), as Kafka's retention does, but only of what every group has handled: a
 * partition keeps everything from the lowest stored position of the groups that read its topic (less
 * `KEEP_PER_PARTITION`). Topics whose whole history is state (compacted or retained ones, and any a replayed subscription
 * reads) are never trimmed. Before, the whole log was kept in the database and in memory for ever, and read back at
 * each start (soak probe, 2026-12-05: about 4 KB per action). A group that no longer reads a topic (a later version
 * dropped its subscription) keeps its stored position, and so holds that topic's trimming there: less is trimmed, never
 * more.
 */
export class InMemoryBroker {
  private readonly topics = new Map<string, StoredMessage[][]>();
  private readonly groups = new Map<string, GroupState>();
  private nextMemberId = 1;
  /** topic → per partition, the end of the stored log (what may be delivered); only with a store. */
  private readonly stored = new Map<string, number[]>();
  private readonly writes: { message: StoredBrokerMessage; done: (e?: unknown) => void }[] = [];
  private writing?: Promise<void>;
  private readonly positions = new Map<string, CommittedOffset>();
  /** topic → per partition, the first offset the log still holds (0 until trimmed); only with a store. */
  private readonly starts = new Map<string, number[]>();
  /** group → topic → per partition, the position last written to the store: what a restart resumes from. */
  private readonly durable = new Map<string, Map<string, number[]>>();
  /** Compacted topics: per partition, how far the log was compacted, and the newest offset of each key below that. */
  private readonly compaction = new Map<string, { upTo: number[]; latest: Map<string, number>[] }>();
  /** Topics a replayed subscription reads from the beginning: never trimmed. */
  private readonly replayed = new Set<string>();
  private lastTrim = Date.now();
  private committing?: Promise<void>;
  private flushing = false;
  /** Why the store stopped taking writes; the broker refuses publishes from then on. */
  failure?: Error;

  constructor(
    readonly partitions = 6,
    private readonly store?: BrokerStore,
    private readonly logger: Logger = createLogger('bus'),
  ) {}

  /** A broker whose log and positions live in `store`, with what the store holds already read back. */
  static async open(store: BrokerStore, options: { partitions?: number; logger?: Logger } = {}): Promise<InMemoryBroker> {
    const broker = new InMemoryBroker(options.partitions ?? 6, store, options.logger);
    const { messages, committed, starts } = await store.load();
    // A trimmed partition starts where its trim ended: the slots before hold the stand-in.
    for (const s of starts) {
      if (s.partition >= broker.partitions) throw new Error(`the stored bus log has no partition ${s.topic}/${s.partition}`);
      const partition = broker.log(s.topic)[s.partition];
      for (let i = 0; i < s.start; i++) partition.push(TRIMMED);
      broker.startsOf(s.topic)[s.partition] = s.start;
    }
    for (const m of messages) {
      const log = broker.log(m.topic);
      // A compacted topic's log has gaps where superseded messages went (`compact`): their slots hold the stand-in.
      if (COMPACTED_TOPICS.has(m.topic as Topic) && m.partition < broker.partitions) while (log[m.partition].length < m.offset) log[m.partition].push(TRIMMED);
      if (m.partition >= broker.partitions || m.offset !== log[m.partition].length)
        throw new Error(`the stored bus log is not contiguous at ${m.topic}/${m.partition}/${m.offset}`);
      log[m.partition].push({ key: m.key, value: m.value });
    }
    for (const [topic, log] of broker.topics)
      broker.stored.set(
        topic,
        log.map((l) => l.length),
      );
    for (const c of committed) {
      const state = broker.groupState(c.group);
      const positions = state.committed.get(c.topic) ?? Array(broker.partitions).fill(0);
      positions[c.partition] = c.offset;
      state.committed.set(c.topic, positions);
      broker.noteDurable(c);
    }
    // Compacted before anything replays them: a home whose log grew before compaction existed starts as fast as any.
    for (const [topic, log] of broker.topics) if (COMPACTED_TOPICS.has(topic as Topic)) await broker.compact(topic, log);
    return broker;
  }

  /** Appends a message to its topic's log (partitioned by key); resolves once it is stored (at once without a store). */
  append(topic: string, key: string | null, value: Buffer, headers?: MessageHeaders): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const log = this.log(topic);
    const partition = key === null ? 0 : partitionFor(key, this.partitions);
    const offset = log[partition].push({ key, value, headers }) - 1;
    if (!this.store) {
      this.pumpTopic(topic);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.writes.push({ message: { topic, partition, offset, key, value }, done: (e) => (e ? reject(e) : resolve()) });
      this.writing ??= this.write();
    });
  }

  /**
   * Whether `topic`'s log holds the event whose envelope id is `eventId`, searched newest first (what a consumer recorded
   * last is near the end). The embedded host asks it at start of the events its audit log recorded last: a message is
   * delivered only once stored, so a database that lacks one is older than the audit log.
   */
  holdsEvent(topic: string, eventId: string, replaced?: { key: string; time: string }): boolean {
    const needle = Buffer.from(JSON.stringify(eventId));
    for (const partition of this.topics.get(topic) ?? [])
      for (let i = partition.length - 1; i >= 0; i--) {
        const value = partition[i].value;
        if (value.includes(needle) && envelopeIdOf(value) === eventId) return true;
      }
    // A compacted topic keeps the newest event of each key: one replaced by a later event of its key is gone from the
    // log because it was received (red team, 2026-12-07: a kill switch off then on, or two trust verdicts, among the
    // events a start looks up, and a home stopped cleanly was refused as "the database is older than the audit log").
    // Later is by the envelopes' time, strictly: an event of the same millisecond counts as none (the safe side).
    if (!replaced || !COMPACTED_TOPICS.has(topic as Topic)) return false;
    const after = Date.parse(replaced.time);
    if (Number.isNaN(after)) return false;
    for (const partition of this.topics.get(topic) ?? [])
      for (let i = partition.length - 1; i >= 0; i--) {
        const m = partition[i];
        if (m === TRIMMED || m.key !== replaced.key) continue;
        if (Date.parse(envelopeTimeOf(m.value) ?? '') > after) return true;
      }
    return false;
  }

  /** Resolves once every message and position handed to the store so far is written (the embedded host's stop). */
  async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.writing || this.committing) await Promise.all([this.writing, this.committing]);
    } finally {
      this.flushing = false;
    }
  }

  /** Writes the queued messages in publish order, a batch per statement, and then lets them be delivered. */
  private async write(): Promise<void> {
    try {
      while (this.writes.length) {
        const batch = this.writes.splice(0, MAX_WRITE);
        try {
          if (this.failure) throw this.failure;
          await this.store!.append(batch.map((w) => w.message));
        } catch (e) {
          this.failure ??= new Error(`the bus could not store a message, and takes none from now on: ${(e as Error).message}`, { cause: e });
          this.logger.error({ err: e }, 'the bus store failed; publishing stops');
          for (const w of [...batch, ...this.writes.splice(0)]) w.done(this.failure);
          return;
        }
        const touched = new Set<string>();
        for (const { message: m } of batch) {
          const ends = this.stored.get(m.topic) ?? Array(this.partitions).fill(0);
          ends[m.partition] = Math.max(ends[m.partition], m.offset + 1);
          this.stored.set(m.topic, ends);
          touched.add(m.topic);
        }
        for (const w of batch) w.done();
        for (const topic of touched) this.pumpTopic(topic);
      }
    } finally {
      this.writing = undefined;
    }
  }

  /**
   * Records a group's new position. Positions are written behind, the latest per partition, at most every
   * `COMMIT_EVERY_MS` (the database is one session shared with the services): a position lost in a crash means
   * a redelivery, which consumers absorb.
   */
  private commit(group: string, topic: string, partition: number, offset: number): void {
    this.positions.set(`${group}\u0000${topic}\u0000${partition}`, { group, topic, partition, offset });
    this.committing ??= (async () => {
      try {
        while (this.positions.size) {
          if (!this.flushing) await new Promise((r) => setTimeout(r, COMMIT_EVERY_MS));
          const batch = [...this.positions.values()];
          this.positions.clear();
          const stored = await this.store!.commit(batch).then(
            () => true,
            (e: unknown) => {
              this.logger.error({ err: e }, 'could not store consumer positions; they will be delivered again after a restart');
              return false;
            },
          );
          if (!stored) continue;
          for (const c of batch) this.noteDurable(c);
          if (Date.now() - this.lastTrim >= TRIM_EVERY_MS) await this.trim();
        }
      } finally {
        this.committing = undefined;
      }
    })();
  }

  private noteDurable(c: CommittedOffset): void {
    const topics = this.durable.get(c.group) ?? new Map<string, number[]>();
    this.durable.set(c.group, topics);
    const positions = topics.get(c.topic) ?? Array<number>(this.partitions).fill(0);
    topics.set(c.topic, positions);
    positions[c.partition] = Math.max(positions[c.partition], c.offset);
  }

  private startsOf(topic: string): number[] {
    let starts = this.starts.get(topic);
    if (!starts) {
      starts = Array<number>(this.partitions).fill(0);
      this.starts.set(topic, starts);
    }
    return starts;
  }

  /**
   * Drops from the store and from memory what every group reading a topic has handled, as stored (a crash never loses
   * a message a group has not handled), but the newest `keep` of each partition below it. A compacted topic keeps the
   * latest message of each key (`compact`); a topic nobody reads, its newest `keep` of each partition. One whose history
   * is state (`control.*`, retained), one a replayed subscription reads and a dead-letter topic nobody reads are kept
   * whole. Returns how many
   * messages went. Runs after consumer positions are stored (at most every minute), and from tests.
   */
  async trim(keep = KEEP_PER_PARTITION): Promise<number> {
    if (!this.store || this.failure) return 0;
    this.lastTrim = Date.now();
    let dropped = 0;
    for (const [topic, log] of this.topics) {
      // A compacted topic's state is its latest message per key: the others go, as Kafka's compaction drops them.
      if (COMPACTED_TOPICS.has(topic as Topic)) {
        const compacted = await this.compact(topic, log);
        if (compacted === undefined) return dropped;
        dropped += compacted;
        continue;
      }
      // Control topics are state, few and small, and are replayed at start by subscriptions that may join after a trim
      // (a slow start): kept whole, as the retained ones and any a replayed subscription has read.
      if (topic.startsWith('control.') || RETAINED_TOPICS.has(topic as Topic) || this.replayed.has(topic)) continue;
      // Every group that reads the topic now or has a stored position on it; one reading it with none stored holds it all.
      const readers = [...this.groups].filter(([name, g]) => g.members.some((m) => topic in m.handlers) || this.durable.get(name)?.has(topic));
      // A topic nobody reads keeps its newest `keep` too (the signed tree heads, published for monitors the embedded mode
      // does not have: 200,000 of them added 6 s and 200 MB to a start; scale probe, 2026-12-06). Dead letters are kept
      // whole: each is evidence.
      if (!readers.length && topic.endsWith('.dlq')) continue;
      const starts = this.startsOf(topic);
      for (let p = 0; p < this.partitions; p++) {
        const handled = readers.length ? Math.min(...readers.map(([name]) => this.durable.get(name)?.get(topic)?.[p] ?? 0)) : Infinity;
        const below = Math.min(handled, this.deliverable(topic, p)) - keep;
        if (below <= starts[p]) continue;
        try {
          await this.store.trim({ topic, partition: p, start: below });
        } catch (e) {
          this.logger.warn({ err: e, topic, partition: p }, 'could not trim the stored bus log; it is tried again later');
          return dropped;
        }
        for (let i = starts[p]; i < below; i++) log[p][i] = TRIMMED;
        dropped += below - starts[p];
        starts[p] = below;
      }
    }
    return dropped;
  }

  /**
   * Drops, from the store and from memory, each message of a compacted topic that a later one of its key supersedes;
   * returns how many went, or undefined when the store did not take it (tried again at the next trim). Each partition
   * is read from where the last compaction ended. The trust monitor's heartbeat alone writes 2,880 messages a day to
   * its topic, and every start replayed them all in each of three services: 35 idle days held `/readyz` for 132 s and
   * 1.2 GB (a scale probe, 2026-12-06).
   */
  private async compact(topic: string, log: StoredMessage[][]): Promise<number | undefined> {
    const state = this.compaction.get(topic) ?? {
      upTo: Array<number>(this.partitions).fill(0),
      latest: Array.from({ length: this.partitions }, () => new Map<string, number>()),
    };
    this.compaction.set(topic, state);
    let dropped = 0;
    for (let p = 0; p < this.partitions; p++) {
      const end = this.deliverable(topic, p);
      // Read into a copy, kept once the store has taken the drops: a failed drop is found again next time.
      const latest = new Map(state.latest[p]);
      const superseded: number[] = [];
      for (let i = state.upTo[p]; i < end; i++) {
        const m = log[p][i];
        if (m === TRIMMED || m.key === null) continue;
        const before = latest.get(m.key);
        if (before !== undefined) superseded.push(before);
        latest.set(m.key, i);
      }
      if (superseded.length) {
        try {
          await this.store!.compact({ topic, partition: p, offsets: superseded });
        } catch (e) {
          this.logger.warn({ err: e, topic, partition: p }, 'could not compact the stored bus log; it is tried again later');
          return undefined;
        }
        for (const i of superseded) log[p][i] = TRIMMED;
        dropped += superseded.length;
      }
      state.latest[p] = latest;
      state.upTo[p] = end;
    }
    return dropped;
  }

  private pumpTopic(topic: string): void {
    for (const [name, group] of this.groups) if (group.members.some((m) => topic in m.handlers)) this.pump(name, topic);
  }

  /** The end of what may be delivered: the stored log with a store, the whole log without. */
  private deliverable(topic: string, partition: number): number {
    return this.store ? (this.stored.get(topic)?.[partition] ?? 0) : this.log(topic)[partition].length;
  }

  private groupState(group: string): GroupState {
    const state: GroupState = this.groups.get(group) ?? { members: [], committed: new Map(), pumping: new Set(), lanes: new Map() };
    this.groups.set(group, state);
    return state;
  }

  join(group: string, member: Omit<Member, 'id' | 'inFlight'>): Member {
    const state = this.groupState(group);
    const joined: Member = { ...member, id: this.nextMemberId++, inFlight: new Set() };
    if (member.replay) for (const topic of Object.keys(member.handlers)) this.replayed.add(topic);
    state.members.push(joined);
    for (const topic of Object.keys(member.handlers)) this.pump(group, topic);
    return joined;
  }

  /** `forget`: a replayed subscription's group goes with its last member, position and all. */
  leave(group: string, member: Member, forget = false): void {
    const state = this.groups.get(group);
    if (!state) return;
    member.closed = true;
    state.members = state.members.filter((m) => m !== member);
    if (forget && !state.members.length) {
      this.groups.delete(group);
      return;
    }
    for (const topic of Object.keys(member.handlers)) this.pump(group, topic);
  }

  /** Resolves once the handlers a member had started have finished (it takes no new ones once closed). */
  async idle(member: Member): Promise<void> {
    while (member.inFlight.size) await Promise.allSettled([...member.inFlight]);
  }

  /** Where each partition of `topic` ends now: what a subscription starting now has to read to be current. */
  ends(topic: string): Array<{ partition: number; end: number }> {
    return this.log(topic).map((_, partition) => ({ partition, end: this.deliverable(topic, partition) }));
  }

  /** How many messages `group` has not handled yet on each of `topics`: the deliverable ends minus its positions. */
  lag(group: string, topics: readonly string[]): Array<{ topic: string; lag: number }> {
    const committed = this.groups.get(group)?.committed;
    return topics.map((topic) => ({
      topic,
      lag: this.log(topic).reduce(
        (sum, _, p) => sum + Math.max(0, this.deliverable(topic, p) - Math.max(committed?.get(topic)?.[p] ?? 0, this.starts.get(topic)?.[p] ?? 0)),
        0,
      ),
    }));
  }

  /** The consumer groups the broker knows (for tests: replayed subscriptions leave none behind). */
  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  private log(topic: string): StoredMessage[][] {
    let log = this.topics.get(topic);
    if (!log) {
      log = Array.from({ length: this.partitions }, () => []);
      this.topics.set(topic, log);
    }
    return log;
  }

  /** The member a partition is assigned to: partitions are spread round-robin over the group's members. */
  private owner(state: GroupState, topic: string, partition: number): Member | undefined {
    const members = state.members.filter((m) => topic in m.handlers);
    return members.length ? members[partition % members.length] : undefined;
  }

  private pump(group: string, topic: string): void {
    const state = this.groups.get(group)!;
    const committed = state.committed.get(topic) ?? Array(this.partitions).fill(0);
    state.committed.set(topic, committed);
    const log = this.log(topic);
    for (let p = 0; p < this.partitions; p++) {
      const slot = `${topic}/${p}`;
      if (state.pumping.has(slot) || this.handedOut(state, slot, committed[p]) >= this.deliverable(topic, p)) continue;
      state.pumping.add(slot);
      // One sequential worker per partition and group hands the log to the owner's lanes, which keep per-key order.
      void (async () => {
        try {
          // Like a fetch, take what was published in the same tick together, as one batch.
          await new Promise((r) => setImmediate(r));
          for (;;) {
            const member = this.owner(state, topic, p);
            if (!member) return;
            let current = state.lanes.get(slot);
            if (!current || current.member !== member || current.lanes.stopped) {
              // A new owner, or lanes a delivery stopped (the member closed): from the committed position, as in Kafka.
              const lanes: PartitionLanes = new PartitionLanes(
                member.slots,
                (m) =>
                  deliver(
                    m,
                    group,
                    member.handlers,
                    member.retry,
                    member.deadLetter,
                    member.logger,
                    () => member.closed || state.lanes.get(slot)?.lanes !== lanes,
                  ),
                (offset) => {
                  if (state.lanes.get(slot)?.lanes !== lanes) return; // the partition moved: its new owner commits
                  committed[p] = Number(offset) + 1;
                  member.catchUp?.handled(topic, p, committed[p]);
                  if (this.store && !member.replay) this.commit(group, topic, p, committed[p]);
                },
                (delivery) => {
                  // Forgotten as soon as it settles (before anyone awaiting it resumes), so `idle` never waits on a finished one.
                  member.inFlight.add(delivery);
                  const forget = () => void member.inFlight.delete(delivery);
                  delivery.then(forget, forget);
                },
              );
              // A position below what the log still holds (a group new to a trimmed topic) starts at its start, as a
              // Kafka consumer whose offset is out of range starts at the earliest (what went, every group had handled).
              committed[p] = Math.max(committed[p], this.starts.get(topic)?.[p] ?? 0);
              current = { member, lanes, next: committed[p] };
              state.lanes.set(slot, current);
            }
            const from = current.next;
            const to = Math.min(from + MAX_BATCH, this.deliverable(topic, p));
            if (from >= to) return;
            for (let i = from; i < to; i++) {
              const msg = log[p][i];
              // A gap a compaction left (a message superseded by a later one of its key): nothing to hand over.
              if (msg === TRIMMED) continue;
              current.lanes.push({ topic, partition: p, offset: String(i), key: msg.key, value: msg.value, headers: msg.headers });
            }
            current.next = to;
            // Back-pressure, as a Kafka consumer's next fetch waits.
            await current.lanes.room(Math.max(MAX_BATCH, MIN_OUTSTANDING));
          }
        } finally {
          state.pumping.delete(slot);
          if (this.handedOut(state, slot, committed[p]) < this.deliverable(topic, p) && this.owner(state, topic, p)) this.pump(group, topic);
        }
      })();
    }
  }

  /** The next offset of a partition to hand to its owner's lanes: the committed one when it has none (yet, or any more). */
  private handedOut(state: GroupState, slot: string, committed: number): number {
    const current = state.lanes.get(slot);
    const [topic, p] = [slot.slice(0, slot.lastIndexOf('/')), Number(slot.slice(slot.lastIndexOf('/') + 1))];
    return current && !current.lanes.stopped && current.member === this.owner(state, topic, p) ? current.next : committed;
  }
}

export interface InMemoryBusOptions {
  broker?: InMemoryBroker;
  retry?: Partial<RetryPolicy>;
  logger?: Logger;
  /** The running service (or host): the `source` of what it emits. */
  source?: string;
  /** The process's metrics: the same bus metrics as the Kafka adapter's (ADR 0021). None: not measured. */
  metrics?: Metrics;
  /** How often each kept-position group's lag is read (default 15 s). */
  consumerLagIntervalMs?: number;
}

/**
 * The in-process bus of the embedded mode: a real implementation with Kafka's semantics (per-key order,
 * consumer groups, redelivery, dead letters), passing the same shared suite as the Kafka adapter.
 */
export class InMemoryBus implements EventBus {
  readonly broker: InMemoryBroker;
  private readonly retry: RetryPolicy;
  private readonly logger: Logger;
  private readonly subscriptions = new Set<Subscription>();
  private readonly source: string;
  private readonly measured: BusMetrics;

  constructor(options: InMemoryBusOptions = {}) {
    this.source = options.source ?? 'countersign-embedded';
    this.broker = options.broker ?? new InMemoryBroker();
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.logger = options.logger ?? createLogger('bus');
    this.measured = new BusMetrics(options.metrics, this.logger, options.consumerLagIntervalMs);
  }

  envelope<T extends AnyTopic>(topic: T, data: EventData<T>, options: EmitOptions): TopicMap[T] {
    return buildEnvelope(topic, data, this.source, options);
  }

  async emit<T extends AnyTopic>(topic: T, data: EventData<T>, options: EmitOptions): Promise<TopicMap[T]> {
    const event = this.envelope(topic, data, options);
    await this.publish(topic, event);
    return event;
  }

  async publish<T extends AnyTopic>(topic: T, event: TopicMap[T]): Promise<void> {
    await this.measured.produced(
      topic,
      publishInSpan(topic, event.subject, (headers) => this.broker.append(topic, event.subject, encode(topic, event), headers)),
    );
  }

  async publishRaw(topic: string, key: string | null, value: Buffer | string): Promise<void> {
    await publishInSpan(topic, key, (headers) => this.broker.append(topic, key, Buffer.isBuffer(value) ? value : Buffer.from(value), headers));
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const topics = Object.keys(options.handlers);
    const catchUp = options.replay && options.onCaughtUp ? new CatchUp(topics.length, options.onCaughtUp) : undefined;
    // The ends before joining: what is published after is not needed to be current.
    const ends = catchUp ? topics.map((t) => [t, this.broker.ends(t)] as const) : [];
    const member = this.broker.join(options.group, {
      catchUp,
      handlers: this.measured.handlers(options.handlers),
      retry: this.retry,
      logger: this.logger,
      closed: false,
      slots: new Semaphore(options.concurrency ?? DEFAULT_CONCURRENCY),
      deadLetter: this.measured.deadLetters((topic, event) => this.publish(topic, event)),
      replay: options.replay,
    });
    for (const [topic, end] of ends) catchUp!.ends(topic, end);
    const stopLag = options.replay ? () => undefined : this.measured.trackLag(options.group, topics, () => this.broker.lag(options.group, topics));
    const subscription: Subscription = {
      close: async () => {
        stopLag();
        this.broker.leave(options.group, member, options.replay);
        this.subscriptions.delete(subscription);
        // What a handler had started finishes (its effects and their events) before close resolves.
        await this.broker.idle(member);
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async healthy(): Promise<boolean> {
    if (this.broker.failure) throw new Error(this.broker.failure.message);
    return true;
  }

  broken(): string | undefined {
    return this.broker.failure && `${this.broker.failure.message}: restart the process (what it stored is kept)`;
  }

  async close(): Promise<void> {
    this.measured.stop();
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }
}
