// real: the seal (HMAC-SHA256 under a key derived from a review data key), the in-memory session store, Sessions;
// fake: the HTTP request and response (plain objects).
import { createHash } from 'node:crypto';
import { generateReviewDataKey, parseReviewDataKey } from '../review-item/sealed-proposal';
import { createInMemorySessionStore } from './in-memory-session.store';
import { withSealedSessions } from './sealed-session.store';
import type { ReviewerSession, SessionRecord } from './session.store';
import { HttpResponse, Sessions } from './sessions';

const session = (id: string, roles = ['reviewer']): ReviewerSession => ({
  kind: 'session',
  principal: { id, kind: 'human', roles, authMethod: 'oidc', amr: ['pwd'] },
  name: id,
  amr: ['pwd'],
  idToken: 'id.token.x',
  csrf: 'csrf',
  createdAt: Date.now(),
  lastSeenAt: Date.now(),
});
const later = () => Date.now() + 60_000;

describe('sealed inbox sessions (red team, round 14: a session record set straight into Redis was trusted)', () => {
  const setUp = () => {
    const inner = createInMemorySessionStore();
    const refused: string[] = [];
    const store = withSealedSessions(inner, parseReviewDataKey(generateReviewDataKey()), (key) => refused.push(key));
    return { inner, store, refused };
  };

  it('reads back what it wrote, and refuses a record written by anything else, or copied under another key', async () => {
    const { inner, store, refused } = setUp();
    const alice = session('alice');
    await store.set('k1', alice, later());
    expect(await store.get('k1')).toEqual(alice);
    expect(await store.touch('k1', { ...session('alice'), lastSeenAt: 1 }, later())).toBe(true);
    expect(await store.get('k1')).toMatchObject({ lastSeenAt: 1 });

    // Written straight into the store: no seal, a seal of nothing, another key's seal, a field changed under its seal.
    await inner.set('forged', { ...session('mallory', ['reviewer', 'security']), amr: ['mfa'] }, later());
    await inner.set('empty', { ...session('mallory'), seal: '' } as unknown as SessionRecord, later());
    await inner.set('copied', (await inner.get('k1'))!, later());
    const sealed = (await inner.get('k1')) as ReviewerSession;
    await inner.set('k1', { ...sealed, principal: { ...sealed.principal, roles: ['reviewer', 'admin'] } }, later());
    for (const key of ['forged', 'empty', 'copied', 'k1']) expect(await store.get(key)).toBeUndefined();
    expect(refused).toEqual(['forged', 'empty', 'copied', 'k1']);
  });

  it('signs nobody in on a forged record: Sessions finds no session behind its cookie', async () => {
    const { inner, store } = setUp();
    const sessions = new Sessions({ issuer: 'http://127.0.0.1:1', clientId: 'c', clientSecret: 's', publicUrl: 'http://127.0.0.1:8082', sessions: store });
    const cookie = 'a'.repeat(43);
    await inner.set(createHash('sha256').update(cookie).digest('base64url'), session('mallory', ['reviewer', 'security']), later());
    expect(await sessions.current({ method: 'GET', url: '/reviews', headers: { cookie: `cs_session=${cookie}` } })).toBeUndefined();
    // One the queue opened is found.
    const headers: Record<string, unknown> = {};
    const res = { setHeader: (k: string, v: unknown) => void (headers[k] = v), getHeader: (k: string) => headers[k] } as unknown as HttpResponse;
    await sessions.open(res, { sub: 'alice', name: 'Alice', roles: ['reviewer'], amr: ['pwd'], idToken: 'id.token.x' });
    const set = (headers['Set-Cookie'] as string[])[0].split(';')[0];
    expect(await sessions.current({ method: 'GET', url: '/reviews', headers: { cookie: set } })).toMatchObject({ principal: { id: 'alice' } });
  });
});
