import { AnyTopic, EventData, TopicMap } from '@countersign/contracts';
import { createLogger, Logger } from '@countersign/logging';
import { encode } from './codec';
import { deliver, deliverBatch, Semaphore } from './dispatch';
import { buildEnvelope, EmitOptions } from './envelope';
import { DEFAULT_CONCURRENCY, DEFAULT_RETRY, EventBus, HandlerMap, RetryPolicy, SubscribeOptions, Subscription } from './port';
import { partitionFor } from './partitioner';

/** Messages a partition hands over at once, like one Kafka fetch. */
const MAX_BATCH = 500;

interface StoredMessage {
  key: string | null;
  value: Buffer;
}

interface Member {
  id: number;
  handlers: HandlerMap;
  retry: RetryPolicy;
  logger: Logger;
  closed: boolean;
  /** Handlers in flight for this member, over all its partitions. */
  slots: Semaphore;
  deadLetter: (topic: AnyTopic, event: TopicMap[AnyTopic]) => Promise<void>;
}

interface GroupState {
  members: Member[];
  /** topic → next offset to deliver, per partition (the group's committed position). */
  committed: Map<string, number[]>;
  /** `${topic}/${partition}` currently being pumped. */
  pumping: Set<string>;
}

/**
 * The process-wide log that in-memory buses share, like a broker that several clients connect to.
 * Messages are kept for the life of the process (the embedded mode's scale), partitioned by key.
 */
export class InMemoryBroker {
  private readonly topics = new Map<string, StoredMessage[][]>();
  private readonly groups = new Map<string, GroupState>();
  private nextMemberId = 1;

  constructor(readonly partitions = 6) {}

  append(topic: string, key: string | null, value: Buffer): void {
    const log = this.log(topic);
    log[key === null ? 0 : partitionFor(key, this.partitions)].push({ key, value });
    for (const [name, group] of this.groups) if (group.members.some((m) => topic in m.handlers)) this.pump(name, topic);
  }

  join(group: string, member: Omit<Member, 'id'>): Member {
    const state: GroupState = this.groups.get(group) ?? { members: [], committed: new Map(), pumping: new Set() };
    this.groups.set(group, state);
    const joined: Member = { ...member, id: this.nextMemberId++ };
    state.members.push(joined);
    for (const topic of Object.keys(member.handlers)) this.pump(group, topic);
    return joined;
  }

  leave(group: string, member: Member): void {
    const state = this.groups.get(group);
    if (!state) return;
    member.closed = true;
    state.members = state.members.filter((m) => m !== member);
    for (const topic of Object.keys(member.handlers)) this.pump(group, topic);
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
      if (state.pumping.has(slot) || committed[p] >= log[p].length) continue;
      state.pumping.add(slot);
      // One sequential worker per partition and group keeps per-key order.
      void (async () => {
        try {
          // Like a fetch, take what was published in the same tick together, as one batch.
          await new Promise((r) => setImmediate(r));
          while (committed[p] < log[p].length) {
            const member = this.owner(state, topic, p);
            if (!member) return;
            const from = committed[p];
            const batch = log[p]
              .slice(from, from + MAX_BATCH)
              .map((msg, i) => ({ topic, partition: p, offset: String(from + i), key: msg.key, value: msg.value }));
            try {
              await deliverBatch(
                batch,
                member.slots,
                (m) => deliver(m, group, member.handlers, member.retry, member.deadLetter, member.logger, () => member.closed),
                (offset) => (committed[p] = Number(offset) + 1),
              );
            } catch {
              // The member closed mid-batch: the rest of the batch stays uncommitted and goes to the next owner, as in Kafka.
              await new Promise((r) => setImmediate(r));
            }
          }
        } finally {
          state.pumping.delete(slot);
          if (committed[p] < log[p].length && this.owner(state, topic, p)) this.pump(group, topic);
        }
      })();
    }
  }
}

export interface InMemoryBusOptions {
  broker?: InMemoryBroker;
  retry?: Partial<RetryPolicy>;
  logger?: Logger;
  /** The running service (or host): the `source` of what it emits. */
  source?: string;
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

  constructor(options: InMemoryBusOptions = {}) {
    this.source = options.source ?? 'countersign-embedded';
    this.broker = options.broker ?? new InMemoryBroker();
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.logger = options.logger ?? createLogger('bus');
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
    this.broker.append(topic, event.subject, encode(topic, event));
  }

  async publishRaw(topic: string, key: string | null, value: Buffer | string): Promise<void> {
    this.broker.append(topic, key, Buffer.isBuffer(value) ? value : Buffer.from(value));
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const member = this.broker.join(options.group, {
      handlers: options.handlers,
      retry: this.retry,
      logger: this.logger,
      closed: false,
      slots: new Semaphore(options.concurrency ?? DEFAULT_CONCURRENCY),
      deadLetter: (topic, event) => this.publish(topic, event),
    });
    const subscription: Subscription = {
      close: async () => {
        this.broker.leave(options.group, member);
        this.subscriptions.delete(subscription);
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async healthy(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }
}
