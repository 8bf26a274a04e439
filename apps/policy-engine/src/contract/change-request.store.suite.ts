import { ChangeRequest, ChangeRequestStore, ContractChangeRequest } from './change-request';

const t0 = new Date('2026-11-24T10:00:00.000Z');
const later = (ms: number) => new Date(t0.getTime() + ms);
const ada = { id: 'ada', kind: 'human' as const, roles: ['admin'], authMethod: 'bearer-token' as const };
const grace = { id: 'grace', kind: 'human' as const, roles: ['admin'], authMethod: 'bearer-token' as const };
const approve = (at: Date, reason = 'ok') => ({ outcome: 'approved' as const, by: grace, reason, at });

const request = (id: string, over: Partial<ContractChangeRequest> = {}): ChangeRequest => ({
  id,
  kind: 'contract',
  status: 'pending',
  digest: 'd'.repeat(64),
  base: 'contract:sha256:base-1',
  reason: 'tighten refunds',
  requestedBy: ada,
  createdAt: t0.toISOString(),
  expiresAt: later(24 * 3600_000).toISOString(),
  contract: { fromVersion: '1', fromHash: 'sha256:base-1', toVersion: '2', toHash: 'sha256:next', text: 'version: 2\n# ünïcode ✓\n' },
  diff: { corpus: 'scenarios.jsonl', total: 24, changed: 0, output: '0 of 24 decisions change' },
  ...over,
});

/**
 * The change-request store contract: the PostgreSQL store and its in-memory twin both pass it. `make` gets
 * how long an approval holds its base.
 */
export function changeRequestStoreSuite(name: string, make: (baseClaimMs: number) => Promise<ChangeRequestStore>) {
  describe(`ChangeRequestStore shared suite: ${name}`, () => {
    it('stores a request as given, lists the most recent first, and refuses an id twice', async () => {
      const store = await make(60_000);
      await store.create(request('cr-1'));
      await store.create(request('cr-2', { createdAt: later(1000).toISOString() }));
      expect(await store.get('cr-1')).toEqual(request('cr-1'));
      expect(await store.get('cr-9')).toBeUndefined();
      expect((await store.list(10)).map((r) => r.id)).toEqual(['cr-2', 'cr-1']);
      expect((await store.list(1)).map((r) => r.id)).toEqual(['cr-2']);
      await expect(store.create(request('cr-1', { reason: 'again' }))).rejects.toThrow(/exists already/);
      expect((await store.get('cr-1'))?.reason).toBe('tighten refunds');
    });

    it('decides a pending request once, with who, why and when', async () => {
      const store = await make(60_000);
      await store.create(request('cr-1'));
      const approved = await store.decide('cr-1', approve(later(5000), 'diff checked'));
      const decided = { status: 'approved', decider: grace, decisionReason: 'diff checked', decidedAt: later(5000).toISOString() };
      expect(approved).toEqual({ ok: true, request: { ...request('cr-1'), ...decided } });
      expect(await store.decide('cr-1', { outcome: 'rejected', by: grace, reason: 'no', at: later(6000) })).toEqual({ ok: false, conflict: 'not-pending' });
      expect(await store.decide('cr-9', { outcome: 'approved', by: grace, reason: 'x', at: later(6000) })).toEqual({ ok: false, conflict: 'unknown' });
      expect(await store.get('cr-1')).toMatchObject({ status: 'approved', decider: grace });
    });

    it('decides nothing once the request has expired', async () => {
      const store = await make(60_000);
      await store.create(request('cr-1'));
      expect(await store.decide('cr-1', approve(later(24 * 3600_000)))).toEqual({ ok: false, conflict: 'expired' });
      const withdrawn = await store.decide('cr-1', { outcome: 'withdrawn', by: ada, reason: 'late', at: later(25 * 3600_000) });
      expect(withdrawn).toEqual({ ok: false, conflict: 'expired' });
      expect((await store.get('cr-1'))?.status).toBe('pending');
    });

    it('approves one of two rival requests on the same base; the other waits until the claim lapses', async () => {
      const store = await make(60_000);
      await store.create(request('cr-1'));
      await store.create(request('cr-2', { digest: 'e'.repeat(64) }));
      await store.create(request('cr-3', { base: 'contract:sha256:other' }));
      expect((await store.decide('cr-1', approve(later(1000)))).ok).toBe(true);
      expect(await store.decide('cr-2', approve(later(2000)))).toEqual({ ok: false, conflict: 'base-taken', holder: 'cr-1' });
      expect((await store.get('cr-2'))?.status).toBe('pending');
      expect((await store.decide('cr-3', approve(later(2000)))).ok).toBe(true);
      expect((await store.decide('cr-2', approve(later(62_000)))).ok).toBe(true);
    });

    it('lets a rival be rejected or withdrawn while the base is claimed', async () => {
      const store = await make(60_000);
      await store.create(request('cr-1'));
      await store.create(request('cr-2'));
      await store.decide('cr-1', approve(later(1000)));
      const withdrawn = await store.decide('cr-2', { outcome: 'withdrawn', by: ada, reason: 'superseded', at: later(2000) });
      expect(withdrawn).toMatchObject({ ok: true, request: { status: 'withdrawn' } });
    });

    it('lets one of many concurrent decisions win', async () => {
      const store = await make(60_000);
      await store.create(request('cr-1'));
      const outcomes = ['approved', 'rejected', 'approved', 'rejected'] as const;
      const results = await Promise.all(outcomes.map((outcome, i) => store.decide('cr-1', { outcome, by: grace, reason: `r${i}`, at: later(1000) })));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      const winner = results.find((r) => r.ok) as { request: ChangeRequest };
      expect(await store.get('cr-1')).toEqual(winner.request);
    });

    it('counts the pending, unexpired requests on one base, in all and by requester', async () => {
      const store = await make(60_000);
      await store.create(request('cr-1'));
      await store.create(request('cr-2', { requestedBy: grace }));
      await store.create(request('cr-3'));
      await store.create(request('cr-4', { base: 'contract:sha256:other' }));
      await store.create(request('cr-5', { expiresAt: later(1000).toISOString() }));
      await store.decide('cr-3', { outcome: 'withdrawn', by: ada, reason: 'no', at: later(10) });
      expect(await store.pendingCount('contract:sha256:base-1', 'ada', later(500))).toEqual({ total: 3, byRequester: 2 });
      // cr-5 has expired by now.
      expect(await store.pendingCount('contract:sha256:base-1', 'ada', later(2000))).toEqual({ total: 2, byRequester: 1 });
      expect(await store.pendingCount('contract:sha256:base-1', 'grace', later(2000))).toEqual({ total: 2, byRequester: 1 });
    });
  });
}
