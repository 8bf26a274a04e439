import { join } from 'node:path';

/** One message of the in-process broker's log, at its place. */
export interface StoredBrokerMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer;
}

/** A consumer group's committed position in one partition: the next offset it will be given. */
export interface CommittedOffset {
  group: string;
  topic: string;
  partition: number;
  offset: number;
}

/** Where a partition's stored log begins: everything below `start` was trimmed (handled by every group reading it). */
export interface LogStart {
  topic: string;
  partition: number;
  start: number;
}

/**
 * Where the in-process broker keeps its log and its groups' positions, so that what was published survives a
 * restart of the process (the embedded mode's `COUNTERSIGN_HOME`). Without one the broker lives in memory only.
 */
export interface BrokerStore {
  /** The log kept, in (topic, partition, offset) order, where each trimmed partition begins, and every durable group's positions. */
  load(): Promise<{ messages: StoredBrokerMessage[]; committed: CommittedOffset[]; starts: LogStart[] }>;
  /** Appends messages, given in the order they were published; resolves once they are durable. */
  append(messages: StoredBrokerMessage[]): Promise<void>;
  /** Records groups' positions (each replaces the group's earlier one for its partition). */
  commit(offsets: CommittedOffset[]): Promise<void>;
  /** Drops a partition's messages below `start`, and records that it begins there, at once (one statement). */
  trim(start: LogStart): Promise<void>;
  /**
   * Drops the given messages of a partition of a compacted topic (each superseded by a later one of its key), as Kafka's
   * compaction does: the log keeps its offsets, with gaps where these were.
   */
  compact(partition: { topic: string; partition: number; offsets: number[] }): Promise<void>;
}

/** The PostgreSQL tables of `createPgBrokerStore`: `migrate(pool, { service: 'bus', dir: BROKER_STORE_MIGRATIONS })`. */
export const BROKER_STORE_MIGRATIONS = join(__dirname, '../migrations');
