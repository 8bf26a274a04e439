// The session store's contract, run against the in-memory twin and against Redis: what the inbox's sessions rely on.
import { eventually } from '@countersign/testing';
import { ReviewerSession, SessionStore } from './session.store';

const session = (id: string): ReviewerSession => ({
  kind: 'session',
  principal: { id, kind: 'human', roles: ['reviewer', 'finance'], authMethod: 'oidc' },
  name: `Reviewer ${id}`,
  amr: ['pwd', 'mfa'],
  idToken: 'header.payload.signature',
  csrf: 'csrf-token',
  createdAt: 1_700_000_000_000,
  lastSeenAt: 1_700_000_000_000,
});

export function sessionStoreSuite(name: string, make: () => Promise<SessionStore>) {
  describe(`session store (${name})`, () => {
    let store: SessionStore;
    beforeEach(async () => {
      store = await make();
    });

    it('keeps a record as stored, under its key only, and replaces it on a second set', async () => {
      await store.set('k1', session('alice'), Date.now() + 60_000);
      await store.set('k2', { kind: 'pending', state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/reviews/a' }, Date.now() + 60_000);
      expect(await store.get('k1')).toEqual(session('alice'));
      expect(await store.get('k2')).toEqual({ kind: 'pending', state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/reviews/a' });
      await store.set('k1', { ...session('alice'), lastSeenAt: 1_700_000_060_000 }, Date.now() + 60_000);
      expect(await store.get('k1')).toMatchObject({ lastSeenAt: 1_700_000_060_000 });
      expect(await store.get('k3')).toBeUndefined();
    });

    it('hands out copies: changing what it returned changes nothing stored', async () => {
      await store.set('k1', session('bob'), Date.now() + 60_000);
      const got = (await store.get('k1')) as ReviewerSession;
      got.principal.roles.push('admin');
      expect(((await store.get('k1')) as ReviewerSession).principal.roles).toEqual(['reviewer', 'finance']);
    });

    it('forgets a record at its expiry, and on delete', async () => {
      await store.set('short', session('carol'), Date.now() + 300);
      await store.set('gone', session('carol'), Date.now() + 60_000);
      await store.set('past', session('carol'), Date.now() - 1);
      expect(await store.get('past')).toBeUndefined();
      await store.delete('gone');
      expect(await store.get('gone')).toBeUndefined();
      await eventually(async () => expect(await store.get('short')).toBeUndefined());
    });

    it('touches a record only while it is there: a sign-out between a read and its touch is never undone', async () => {
      await store.set('t1', session('dave'), Date.now() + 60_000);
      expect(await store.touch('t1', { ...session('dave'), lastSeenAt: 1_700_000_001_000 }, Date.now() + 60_000)).toBe(true);
      expect(await store.get('t1')).toMatchObject({ lastSeenAt: 1_700_000_001_000 });
      await store.delete('t1');
      expect(await store.touch('t1', session('dave'), Date.now() + 60_000)).toBe(false);
      expect(await store.get('t1')).toBeUndefined();
      expect(await store.touch('never', session('dave'), Date.now() + 60_000)).toBe(false);
      expect(await store.get('never')).toBeUndefined();
    });
  });
}
