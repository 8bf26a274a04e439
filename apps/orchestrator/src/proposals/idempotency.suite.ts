import { IdempotencyRecord, IdempotencyRepository } from './idempotency.repository';

const record = (actionId: string, requestDigest = 'd1'): IdempotencyRecord => ({
  actionId,
  requestDigest,
  correlationId: `corr-${actionId}`,
  proposedAt: '2026-11-02T10:15:30.123Z',
});

/** The idempotency-key contract: the PostgreSQL repository and its in-memory twin both pass it. */
export function idempotencySuite(name: string, make: () => Promise<IdempotencyRepository>) {
  describe(`IdempotencyRepository shared suite: ${name}`, () => {
    it('claims a new key once and returns the first record afterwards, whole (what re-publishing its event needs)', async () => {
      const repo = await make();
      expect(await repo.claim('agent-1', 'k', record('a1'))).toBeUndefined();
      expect(await repo.claim('agent-1', 'k', record('a2', 'd2'))).toEqual(record('a1'));
    });

    it('scopes keys by principal', async () => {
      const repo = await make();
      await repo.claim('agent-1', 'k', record('a1'));
      expect(await repo.claim('agent-2', 'k', record('b1'))).toBeUndefined();
    });

    it('of concurrent claims of one key, exactly one wins', async () => {
      const repo = await make();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => repo.claim('agent-1', 'race', record(`a${i}`, 'd'))));
      expect(results.filter((r) => r === undefined)).toHaveLength(1);
      expect(new Set(results.filter(Boolean).map((r) => r!.actionId)).size).toBe(1);
    });

    it('holds a claimed key for good: there is no way to release it (a failed publish may still land)', async () => {
      const repo = await make();
      await repo.claim('agent-1', 'k', record('a1'));
      expect('release' in repo).toBe(false);
      expect(await repo.claim('agent-1', 'k', record('a3'))).toEqual(record('a1'));
    });
  });
}
