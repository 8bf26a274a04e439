import type { Pool } from 'pg';
import type { BrokerStore, CommittedOffset, LogStart, StoredBrokerMessage } from './broker-store';

/**
 * The in-process broker's log and positions in PostgreSQL (the embedded mode's PGlite database): one table for
 * the log, one for the positions, from `libs/platform/bus/migrations` (`BROKER_STORE_MIGRATIONS`, run before opening the broker).
 */
export class PgBrokerStore implements BrokerStore {
  constructor(private readonly pool: Pool) {}

  async load(): Promise<{ messages: StoredBrokerMessage[]; committed: CommittedOffset[]; starts: LogStart[] }> {
    const messages = await this.pool.query<{ topic: string; partition: number; offset: string; key: Buffer | null; value: Buffer }>(
      'SELECT topic, partition, "offset", key, value FROM bus_messages ORDER BY topic, partition, "offset"',
    );
    const committed = await this.pool.query<{ group_id: string; topic: string; partition: number; offset: string }>(
      'SELECT group_id, topic, partition, "offset" FROM bus_committed_offsets',
    );
    const starts = await this.pool.query<{ topic: string; partition: number; start: string }>('SELECT topic, partition, start FROM bus_log_starts');
    return {
      starts: starts.rows.map((r) => ({ topic: r.topic, partition: r.partition, start: Number(r.start) })),
      messages: messages.rows.map((r) => ({
        topic: r.topic,
        partition: r.partition,
        offset: Number(r.offset),
        key: r.key?.toString('utf8') ?? null,
        value: r.value,
      })),
      committed: committed.rows.map((r) => ({ group: r.group_id, topic: r.topic, partition: r.partition, offset: Number(r.offset) })),
    };
  }

  async append(messages: StoredBrokerMessage[]): Promise<void> {
    if (!messages.length) return;
    await this.pool.query(
      `INSERT INTO bus_messages (topic, partition, "offset", key, value)
       SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bytea[], $5::bytea[])`,
      [
        messages.map((m) => m.topic),
        messages.map((m) => m.partition),
        messages.map((m) => m.offset),
        messages.map((m) => (m.key === null ? null : Buffer.from(m.key, 'utf8'))),
        messages.map((m) => m.value),
      ],
    );
  }

  async trim({ topic, partition, start }: LogStart): Promise<void> {
    // One statement: the rows go and the partition's start moves together, or neither (a crash between would leave a
    // log that does not begin where it says, and the next start would refuse it as not contiguous).
    await this.pool.query(
      `WITH gone AS (DELETE FROM bus_messages WHERE topic = $1 AND partition = $2 AND "offset" < $3)
       INSERT INTO bus_log_starts (topic, partition, start) VALUES ($1, $2, $3)
       ON CONFLICT (topic, partition) DO UPDATE SET start = GREATEST(bus_log_starts.start, EXCLUDED.start)`,
      [topic, partition, start],
    );
  }

  async compact({ topic, partition, offsets }: { topic: string; partition: number; offsets: number[] }): Promise<void> {
    if (!offsets.length) return;
    await this.pool.query('DELETE FROM bus_messages WHERE topic = $1 AND partition = $2 AND "offset" = ANY ($3::bigint[])', [topic, partition, offsets]);
  }

  async commit(offsets: CommittedOffset[]): Promise<void> {
    if (!offsets.length) return;
    // A position only moves forward: a late write of an older one changes nothing.
    await this.pool.query(
      `INSERT INTO bus_committed_offsets (group_id, topic, partition, "offset")
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[])
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET "offset" = GREATEST(bus_committed_offsets."offset", EXCLUDED."offset")`,
      [offsets.map((o) => o.group), offsets.map((o) => o.topic), offsets.map((o) => o.partition), offsets.map((o) => o.offset)],
    );
  }
}

/** A durable log for the in-process broker (`InMemoryBroker.open(store)`), in PostgreSQL. */
export const createPgBrokerStore = (pool: Pool): BrokerStore => new PgBrokerStore(pool);
