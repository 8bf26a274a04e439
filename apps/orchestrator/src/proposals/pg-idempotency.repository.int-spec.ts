import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import { idempotencySuite } from './idempotency.suite';
import { PgIdempotencyRepository } from './pg-idempotency.repository';

// real: PostgreSQL; fake: nothing. Each test gets its own database.
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

async function database() {
  const db = await createTestDatabase('idem');
  const pool: Pool = createPgPool(db.url);
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  return pool;
}

idempotencySuite('postgres', async () => new PgIdempotencyRepository(await database()));

const record = (actionId: string, requestDigest: string) => ({
  actionId,
  requestDigest,
  correlationId: `corr-${actionId}`,
  proposedAt: new Date().toISOString(),
});

describe('PgIdempotencyRepository: expiry', () => {
  it('reads a key past its expiry as absent, lets one new request claim it, and deletes it when asked', async () => {
    const pool = await database();
    const repo = new PgIdempotencyRepository(pool);
    await repo.claim('agent-1', 'old', record('a1', 'd1'));
    await repo.claim('agent-1', 'live', record('b1', 'd1'));
    await pool.query("UPDATE orchestrator_idempotency_keys SET expires_at = now() - interval '1 second' WHERE idempotency_key = 'old'");
    const claims = await Promise.all(Array.from({ length: 5 }, (_, i) => repo.claim('agent-1', 'old', record(`a${i + 2}`, 'd2'))));
    expect(claims.filter((c) => c === undefined)).toHaveLength(1);
    expect(new Set(claims.filter(Boolean).map((c) => c!.actionId)).size).toBe(1);
    await pool.query("UPDATE orchestrator_idempotency_keys SET expires_at = now() - interval '1 second' WHERE idempotency_key = 'old'");
    expect(await repo.deleteExpired()).toBe(1);
    expect(await repo.claim('agent-1', 'live', record('b2', 'd1'))).toMatchObject({ actionId: 'b1', requestDigest: 'd1', correlationId: 'corr-b1' });
  });

  it('reads a key claimed before migration 0002 (no correlation id, no time kept) with the action id and the claim time standing in', async () => {
    const pool = await database();
    await pool.query(
      "INSERT INTO orchestrator_idempotency_keys (principal, idempotency_key, action_id, request_digest, created_at, expires_at) VALUES ('agent-1', 'old', 'a1', 'd1', '2026-11-02T10:00:00Z', now() + interval '1 hour')",
    );
    expect(await new PgIdempotencyRepository(pool).claim('agent-1', 'old', record('a2', 'd1'))).toEqual({
      actionId: 'a1',
      requestDigest: 'd1',
      correlationId: 'a1',
      proposedAt: '2026-11-02T10:00:00.000Z',
    });
  });
});
