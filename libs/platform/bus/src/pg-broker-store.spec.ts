import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { TOPICS } from '@countersign/contracts';
import type { Metrics } from '@countersign/metrics';
import { EmbeddedDatabase, migrate, openEmbeddedDatabase } from '@countersign/storage';
import { BROKER_STORE_MIGRATIONS } from './broker-store';
import { busSuite, eventually, proposalEvent } from './bus.suite';
import { InMemoryBroker, InMemoryBus } from './in-memory.bus';
import { createPgBrokerStore } from './pg-broker-store';

// real: the in-process broker with its log and positions in an embedded PostgreSQL (PGlite, in a temp folder); fake: nothing.
const silent = pino({ level: 'silent' });
let dir: string;
let db: EmbeddedDatabase;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'countersign-bus-'));
  db = await openEmbeddedDatabase(join(dir, 'db'));
  await migrate(db.pool, { service: 'bus', dir: BROKER_STORE_MIGRATIONS });
}, 60_000);
afterAll(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const fresh = () => db.pool.query('TRUNCATE bus_messages, bus_committed_offsets');
const busOn = (broker: InMemoryBroker, metrics?: Metrics) =>
  new InMemoryBus({ broker, retry: { maxAttempts: 3, initialBackoffMs: 5 }, logger: silent, metrics, consumerLagIntervalMs: 200 });

busSuite('in-memory, stored in PostgreSQL (PGlite)', async () => {
  await fresh();
  const broker = await InMemoryBroker.open(createPgBrokerStore(db.pool), { logger: silent });
  const buses: InMemoryBus[] = [];
  return {
    bus: async (options) => {
      const bus = busOn(broker, options?.metrics);
      buses.push(bus);
      return bus;
    },
    settled: async () => undefined,
    close: async () => {
      await Promise.all(buses.map((b) => b.close()));
      await broker.flush();
    },
  };
});

describe('the stored in-process broker across a restart', () => {
  beforeEach(fresh);

  it('delivers after a restart what was published but not yet handled, and not again what a group had handled', async () => {
    const first = await InMemoryBroker.open(createPgBrokerStore(db.pool), { logger: silent });
    const bus = busOn(first);
    const handled: number[] = [];
    const sub = await bus.subscribe({
      group: 'restart.handled',
      handlers: { [TOPICS.proposalSubmitted]: async (e) => void handled.push(e.data.parameters.seq as number) },
    });
    for (let i = 0; i < 5; i++) await bus.publish(TOPICS.proposalSubmitted, proposalEvent(`a-${i}`, i));
    await eventually(() => expect(handled.sort()).toEqual([0, 1, 2, 3, 4]));
    await sub.close();
    // Published with nobody listening, then the process stops (its memory is gone).
    for (let i = 5; i < 8; i++) await bus.publish(TOPICS.proposalSubmitted, proposalEvent(`a-${i}`, i));
    await first.flush();

    const second = await InMemoryBroker.open(createPgBrokerStore(db.pool), { logger: silent });
    const after: number[] = [];
    await busOn(second).subscribe({
      group: 'restart.handled',
      handlers: { [TOPICS.proposalSubmitted]: async (e) => void after.push(e.data.parameters.seq as number) },
    });
    await eventually(() => expect(after.sort()).toEqual([5, 6, 7]));
    // A group that never consumed reads the whole stored log, as a new Kafka group reads from the beginning.
    const everything: number[] = [];
    await busOn(second).subscribe({
      group: 'restart.newcomer',
      handlers: { [TOPICS.proposalSubmitted]: async (e) => void everything.push(e.data.parameters.seq as number) },
    });
    await eventually(() => expect(everything).toHaveLength(8));
    // Offsets continue after the stored ones: a new message is delivered, not hidden behind an old position.
    await busOn(second).publish(TOPICS.proposalSubmitted, proposalEvent('a-8', 8));
    await eventually(() => expect(after.sort()).toEqual([5, 6, 7, 8]));
    await second.flush();
  });

  it('resolves a publish only once its message is stored, so a publish that returned survives a crash', async () => {
    const broker = await InMemoryBroker.open(createPgBrokerStore(db.pool), { logger: silent });
    await busOn(broker).publish(TOPICS.proposalSubmitted, proposalEvent('stored-1', 1));
    // No flush, no close: read straight from the store, as the next process would.
    const { messages } = await createPgBrokerStore(db.pool).load();
    expect(messages.map((m) => m.key)).toEqual(['stored-1']);
  });
});
