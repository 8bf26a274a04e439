import { verifyEntries } from '@countersign/audit-chain';
import { join } from 'node:path';
import { Client } from 'pg';
import { createPgPool, migrate, Pool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import { auditEntry, auditLogSuite, testKeys } from './audit-log.suite';
import { PgAuditLogRepository } from './pg-audit-log.repository';

// real: PostgreSQL, with the owner role for the schema and the restricted audit role for appends; fake: nothing.
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

async function setup() {
  const db = await createTestDatabase('audit');
  const owner = createPgPool(db.url, 2);
  const service: Pool = createPgPool(db.urlFor(process.env.AUDIT_DATABASE_URL!), 4);
  cleanups.push(async () => {
    await owner.end();
    await service.end();
    await db.drop();
  });
  return { owner, service, log: new PgAuditLogRepository(service), url: db.urlFor(process.env.AUDIT_DATABASE_URL!) };
}

auditLogSuite('postgres', async () => (await setup()).log);

describe('the PostgreSQL audit log', () => {
  it('keeps its pseudonym key with the log: another store on it reads the same key, which no role may change', async () => {
    const { owner, service, log } = await setup();
    const key = await log.pseudonymKey();
    expect(await new PgAuditLogRepository(service).pseudonymKey()).toEqual(key);
    for (const sql of [`UPDATE audit_pseudonym_key SET key_hex = repeat('0', 64)`, 'DELETE FROM audit_pseudonym_key', 'TRUNCATE audit_pseudonym_key'])
      for (const pool of [owner, service]) await expect(pool.query(sql)).rejects.toThrow(/append-only|permission denied/);
    expect(await new PgAuditLogRepository(service).pseudonymKey()).toEqual(key);
  });

  it('refuses UPDATE, DELETE and TRUNCATE for the service role', async () => {
    const { service, log } = await setup();
    await log.appendBatch([auditEntry('e1', 'a1')]);
    for (const sql of [
      `UPDATE audit_log SET entry_json = '{}'`,
      'DELETE FROM audit_log',
      'TRUNCATE audit_log',
      `UPDATE audit_tree_heads SET signature = 'x'`,
      'DELETE FROM audit_tree_heads',
    ]) {
      await expect(service.query(sql)).rejects.toThrow(/permission denied|append-only/);
    }
    expect((await log.query({ actionId: 'a1' })).map((e) => e.entry.data)).toEqual([{ lane: 'review' }]);
  });

  it('refuses UPDATE and DELETE even for the owner, by trigger', async () => {
    const { owner, log } = await setup();
    await log.appendBatch([auditEntry('e1', 'a1')]);
    await expect(owner.query(`UPDATE audit_log SET entry_json = '{}'`)).rejects.toThrow(/audit_log is append-only: UPDATE refused/);
    await expect(owner.query('DELETE FROM audit_log')).rejects.toThrow(/audit_log is append-only: DELETE refused/);
    await expect(owner.query('TRUNCATE audit_log')).rejects.toThrow(/audit_log is append-only: TRUNCATE refused/);
  });

  it('keeps one consistent chain when two writers append concurrently', async () => {
    const { log, url } = await setup();
    const other = createPgPool(url, 4);
    cleanups.unshift(() => other.end());
    const second = new PgAuditLogRepository(other);
    // Three rounds: in the later ones both writers know a tip (each its own, soon stale) and append in one statement
    // where they can, falling back to the lock when the other moved it (docs/adr/0046).
    for (let round = 0; round < 3; round++)
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? log : second).appendBatch(Array.from({ length: 5 }, (_, j) => auditEntry(`r${round}-e${i}-${j}`, `a${j}`))),
        ),
      );
    const tip = await log.tip();
    expect(tip.size).toBe(300);
    expect(new Set((await log.range(0, 300)).map((e) => JSON.parse(e.bytes as string).eventId)).size).toBe(300);
    const ring = testKeys();
    await log.saveHead(ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-11-24T10:00:00Z')));
    expect(verifyEntries(await log.range(0, 300), await log.heads(), ring.verifierKeys())).toMatchObject({ ok: true, treeSize: 300 });
  });

  it('appends a batch in one statement once it knows the tip, and under the lock when another writer moved it', async () => {
    const { log, url } = await setup();
    const other = createPgPool(url, 2);
    cleanups.unshift(() => other.end());
    const second = new PgAuditLogRepository(other);
    const statements = jest.spyOn(Client.prototype, 'query');
    const counted = async (append: () => Promise<unknown>) => {
      statements.mockClear();
      await append();
      return statements.mock.calls.length;
    };
    try {
      // A writer that knows no tip reads it under the lock: BEGIN with the lock, the rows and the tip, COMMIT.
      expect(await counted(() => log.appendBatch([auditEntry('e1', 'a1')]))).toBe(3);
      expect(await counted(() => log.appendBatch([auditEntry('e2', 'a1'), auditEntry('e3', 'a2')]))).toBe(1);
      expect(await counted(() => log.appendBatch([auditEntry('e4', 'a1')]))).toBe(1);
      // Another writer moves the tip: the first one's next statement writes nothing, and the batch goes under the lock.
      await second.appendBatch([auditEntry('e5', 'a3'), auditEntry('e6', 'a3')]);
      expect(await counted(() => log.appendBatch([auditEntry('e7', 'a1')]))).toBe(4);
      expect(await counted(() => log.appendBatch([auditEntry('e8', 'a1')]))).toBe(1);
      // A redelivery through the one statement: refused by the unique index, nothing written, then looked up under the lock.
      const again = await log.appendBatch([auditEntry('e8', 'a1'), auditEntry('e9', 'a2')]);
      expect(again).toMatchObject({ size: 9, appended: 1 });
    } finally {
      statements.mockRestore();
    }
    expect((await log.range(0, 9)).map((e) => JSON.parse(e.bytes as string).eventId)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
    const tip = await log.tip();
    expect(tip.size).toBe(9);
    const ring = testKeys();
    await log.saveHead(ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-11-24T10:00:00Z')));
    expect(verifyEntries(await log.range(0, 9), await log.heads(), ring.verifierKeys())).toMatchObject({ ok: true, treeSize: 9 });
  });

  it('adopts a log created before migrations existed: entries, triggers and grants unchanged', async () => {
    const { owner, service, log } = await setup();
    await log.appendBatch([auditEntry('e1', 'a1')]);
    const key = await log.pseudonymKey();
    // What a database made by the old boot-time DDL looks like: the tables, without a migration history.
    await owner.query('DROP TABLE audit_writer_migrations');
    const migrations = { service: 'audit-writer', dir: join(__dirname, '../../migrations'), settings: { 'countersign.audit_role': 'countersign_audit' } };
    expect(await migrate(owner.options.connectionString!, migrations)).toEqual([
      '0001_audit-log',
      '0002_audit-log-roots-at-heads',
      '0003_audit-pseudonym-key',
      '0004_audit-trail-starts-by-time',
    ]);
    // Run again, the key migration keeps the key the log has.
    expect(await new PgAuditLogRepository(service).pseudonymKey()).toEqual(key);
    expect(await migrate(owner.options.connectionString!, migrations)).toEqual([]);
    await log.appendBatch([auditEntry('e2', 'a2')]);
    expect((await log.tip()).size).toBe(2);
    await expect(service.query('DELETE FROM audit_log')).rejects.toThrow(/permission denied|append-only/);
    await expect(owner.query('DELETE FROM audit_log')).rejects.toThrow(/audit_log is append-only: DELETE refused/);
  });

  it("finds a window's actions through the partial index on their time, not by reading the whole log (scale probe, 2026-12-06)", async () => {
    const { owner, service, log } = await setup();
    // 30,000 entries of other types at other times, and a window's worth of the two a trail starts from.
    await log.appendBatch(Array.from({ length: 20 }, (_, i) => auditEntry(`w${i}`, `act-w${i}`, { time: '2026-11-24T10:00:00.000Z' })));
    await owner.query(
      `INSERT INTO audit_log (idx, event_id, topic, type, subject, correlation_id, actor_id, event_time, entry_json, leaf_hash, tree_root)
       SELECT 1000 + i, 'old-' || i, 'executor.action.executed.v1', 'executor.action.executed.v1', 'act-old-' || i, 'c', 'executor',
              timestamptz '2026-01-01' + i * interval '1 minute', '{}', 'x', NULL FROM generate_series(1, 30000) AS i`,
    );
    await owner.query('ANALYZE audit_log');
    // The statement the store sends, explained as the owner.
    const sent: Array<{ text: string; values: unknown[] }> = [];
    const query = service.query.bind(service) as (text: string, values: unknown[]) => Promise<unknown>;
    (service as unknown as { query: typeof query }).query = (text, values) => (sent.push({ text, values }), query(text, values));
    expect((await log.trailsSince('2026-11-24T09:00:00Z', '2026-11-24T11:00:00Z')).length).toBe(20);
    const [statement] = sent.filter((q) => /FROM audit_log l/.test(q.text));
    const { rows } = await owner.query(`EXPLAIN ${statement.text}`, statement.values);
    expect(rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')).toMatch(/audit_log_trail_starts/);
  });
});
