import { IdempotencyRepository } from './idempotency.repository';

/** The idempotency-key contract: the Redis repository and its in-memory twin both pass it. */
export function idempotencySuite(name: string, make: () => Promise<IdempotencyRepository>) {
  describe(`IdempotencyRepository shared suite: ${name}`, () => {
    it('claims a new key once and returns the first record afterwards', async () => {
      const repo = await make();
      expect(await repo.claim('agent-1', 'k', { actionId: 'a1', requestDigest: 'd1' })).toBeUndefined();
      expect(await repo.claim('agent-1', 'k', { actionId: 'a2', requestDigest: 'd2' })).toEqual({ actionId: 'a1', requestDigest: 'd1' });
    });

    it('scopes keys by principal', async () => {
      const repo = await make();
      await repo.claim('agent-1', 'k', { actionId: 'a1', requestDigest: 'd1' });
      expect(await repo.claim('agent-2', 'k', { actionId: 'b1', requestDigest: 'd1' })).toBeUndefined();
    });

    it('of concurrent claims of one key, exactly one wins', async () => {
      const repo = await make();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => repo.claim('agent-1', 'race', { actionId: `a${i}`, requestDigest: 'd' })));
      expect(results.filter((r) => r === undefined)).toHaveLength(1);
      expect(new Set(results.filter(Boolean).map((r) => r!.actionId)).size).toBe(1);
    });

    it('releases a key whose request failed', async () => {
      const repo = await make();
      await repo.claim('agent-1', 'k', { actionId: 'a1', requestDigest: 'd1' });
      await repo.release('agent-1', 'k');
      expect(await repo.claim('agent-1', 'k', { actionId: 'a3', requestDigest: 'd1' })).toBeUndefined();
    });
  });
}
