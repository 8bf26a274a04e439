import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { EmbeddedDatabase, openEmbeddedDatabase } from '@countersign/storage';
import { DatabaseUpkeep } from './database-upkeep';

// real: the embedded PostgreSQL (PGlite, in a temp folder), VACUUM and ANALYZE; fake: nothing.
let dir: string;
let db: EmbeddedDatabase;
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'countersign-upkeep-'));
  db = await openEmbeddedDatabase(join(dir, 'db'));
}, 60_000);
afterAll(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const one = async <T>(sql: string): Promise<T> => (await db.pool.query(sql)).rows[0] as T;
const pages = async (table: string) => Number((await one<{ n: string }>(`SELECT pg_relation_size('${table}') / 8192 AS n`)).n);
const estimate = async (table: string) => Number((await one<{ n: number }>(`SELECT reltuples AS n FROM pg_class WHERE relname = '${table}'`)).n);

describe('DatabaseUpkeep: what autovacuum does, for the embedded database, where nothing does it', () => {
  it('vacuums and analyzes a table never looked after, then leaves it while it does not grow', async () => {
    await db.pool.query('CREATE TABLE items (id int PRIMARY KEY, status text)');
    await db.pool.query(`INSERT INTO items SELECT i, 'pending' FROM generate_series(1, 5000) i`);
    // Nothing ran ANALYZE: the planner has no count of the rows.
    expect(await estimate('items')).toBe(-1);
    const upkeep = new DatabaseUpkeep(db.pool, logger);

    expect(await upkeep.pass()).toContain('public.items');
    expect(await estimate('items')).toBe(5000);
    // Nothing changed: nothing is read again (an empty table, once looked after, neither).
    await db.pool.query('CREATE TABLE quiet (id int)');
    expect(await upkeep.pass()).toEqual(['public.quiet']);
    expect(await upkeep.pass()).toEqual([]);
  });

  it('makes the space of updated rows reusable: a table updated again and again stops growing', async () => {
    await db.pool.query('CREATE TABLE churn (id int PRIMARY KEY, status text)');
    await db.pool.query(`INSERT INTO churn SELECT i, 'pending' FROM generate_series(1, 5000) i`);
    const upkeep = new DatabaseUpkeep(db.pool, logger);
    await upkeep.pass();
    const kept = await pages('churn');

    // Without upkeep, each update of every row writes new rows beside the dead ones: the file grows each time.
    const grown: number[] = [];
    for (const status of ['claimed', 'approved', 'published']) {
      await db.pool.query(`UPDATE churn SET status = '${status}'`);
      grown.push(await pages('churn'));
    }
    expect(grown[2]).toBeGreaterThan(grown[0]);
    expect(grown[0]).toBeGreaterThan(kept);

    // With a pass after each update, the dead rows' space is used again: the file stays as it is.
    expect(await upkeep.pass()).toEqual(['public.churn']);
    const after = await pages('churn');
    for (const status of ['claimed', 'approved', 'published']) {
      await db.pool.query(`UPDATE churn SET status = '${status}'`);
      await upkeep.pass();
    }
    expect(await pages('churn')).toBe(after);
    expect(await estimate('churn')).toBe(5000);
  });
});
