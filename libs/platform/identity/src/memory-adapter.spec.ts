// real: the in-memory adapter, driven as oidc-provider drives it; fake: the clock, and the sweep timer (Jest's fake timers).
import { memoryAdapter } from './memory-adapter';

describe('the identity provider’s in-memory storage', () => {
  let clock = 1_000_000;
  const now = () => clock;
  afterEach(() => jest.useRealTimers());

  it('keeps a live record as oidc-provider expects: found by id and by uid, consumed, destroyed, revoked with its grant (in its own model)', async () => {
    const storage = memoryAdapter({ now });
    const sessions = storage.factory('Session');
    const codes = storage.factory('AuthorizationCode');
    await sessions.upsert('s1', { uid: 'u1', accountId: 'alice' }, 60);
    expect(await sessions.find('s1')).toEqual({ uid: 'u1', accountId: 'alice' });
    expect(await sessions.findByUid('u1')).toEqual({ uid: 'u1', accountId: 'alice' });
    await codes.upsert('c1', { grantId: 'g1' }, 60);
    await codes.consume('c1');
    expect((await codes.find('c1'))?.consumed).toBe(Math.floor(clock / 1000));
    await codes.upsert('c2', { grantId: 'g1' }, 60);
    await codes.upsert('c3', { grantId: 'g2' }, 60);
    // A sign-in under way carries the grant of the session it may replace: revoking the grant's codes leaves it
    // (oidc-provider revokes model by model; it once ended alice's grant and bob's sign-in with it).
    const interactions = storage.factory('Interaction');
    await interactions.upsert('i1', { uid: 'u1', grantId: 'g1' }, 60);
    await codes.revokeByGrantId('g1');
    expect(
      [await codes.find('c1'), await codes.find('c2'), await codes.find('c3'), await interactions.find('i1'), await sessions.find('s1')].map(Boolean),
    ).toEqual([false, false, true, true, true]);
    // A uid is looked up within its model: the interaction's uid is not the session's.
    expect(await sessions.findByUid('u1')).toEqual({ uid: 'u1', accountId: 'alice' });
    expect(await interactions.findByUid('u1')).toEqual({ uid: 'u1', grantId: 'g1' });
    await sessions.destroy('s1');
    expect(await sessions.findByUid('u1')).toBeUndefined();
    expect(await interactions.findByUid('u1')).toBeDefined();
    await interactions.destroy('i1');
    await codes.destroy('c3');
    expect(storage.indexSizes()).toEqual({ uids: 0, grants: 0 });
    storage.close();
  });

  it('removes expired records on its timer, though nobody looks them up again, with their uid and grant entries (red team, H1)', async () => {
    jest.useFakeTimers();
    const storage = memoryAdapter({ now, sweepMs: 60_000 });
    const interactions = storage.factory('Interaction');
    const sessions = storage.factory('Session');
    for (let i = 0; i < 50; i++) await interactions.upsert(`i${i}`, { grantId: `g${i}` }, 600);
    await sessions.upsert('s1', { uid: 'u1' }, 3_600);
    clock += 601_000;
    jest.advanceTimersByTime(60_000);
    // Not one find(): the abandoned interactions are gone; the session, still live, stays.
    expect(storage.size('Interaction')).toBe(0);
    expect(storage.size('Session')).toBe(1);
    expect(storage.indexSizes()).toEqual({ uids: 1, grants: 0 });
    storage.close();
  });

  it('keeps at most maxPerModel records per model, whatever arrives: the oldest written goes first', async () => {
    const storage = memoryAdapter({ now, maxPerModel: 10 });
    const interactions = storage.factory('Interaction');
    const sessions = storage.factory('Session');
    await sessions.upsert('s1', { uid: 'u1' }, 3_600);
    for (let i = 0; i < 1_000; i++) await interactions.upsert(`i${i}`, { grantId: `g${i}`, params: { state: 'x'.repeat(100) } }, 600);
    expect(storage.size('Interaction')).toBe(10);
    expect(await interactions.find('i0')).toBeUndefined();
    expect(await interactions.find('i999')).toBeDefined();
    // Another model's records are not evicted for it; the indexes shrink with the records.
    expect(await sessions.findByUid('u1')).toEqual({ uid: 'u1' });
    expect(storage.indexSizes()).toEqual({ uids: 1, grants: 10 });
    storage.close();
  });
});
