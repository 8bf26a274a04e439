import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { SessionRecord, SessionStore } from './session.store';

type Sealed = SessionRecord & { seal?: unknown };

/**
 * The inbox's session records sealed with an HMAC-SHA256 under a key only the review queue holds (derived from its
 * review data key, which every instance shares). A record the queue did not write, such as one set straight into a
 * Redis that something else on the host can reach, is no session: the reviewer is asked to sign in, and
 * `refused` is told. The MAC covers the store key too, so a record copied under another session's key is refused
 * as well. What the queue itself wrote reads back as before.
 */
export function withSealedSessions(store: SessionStore, dataKey: Buffer, refused: (key: string) => void = () => undefined): SessionStore {
  const macKey = Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), 'countersign inbox session seal v1', 32));
  const mac = (key: string, record: SessionRecord) => createHmac('sha256', macKey).update(key).update('\n').update(JSON.stringify(record)).digest();
  const sealed = (key: string, record: SessionRecord): SessionRecord =>
    ({ ...record, seal: mac(key, record).toString('base64url') }) as unknown as SessionRecord;
  return {
    set: (key, record, expiresAt) => store.set(key, sealed(key, record), expiresAt),
    touch: (key, record, expiresAt) => store.touch(key, sealed(key, record), expiresAt),
    delete: (key) => store.delete(key),
    async get(key) {
      const found = (await store.get(key)) as Sealed | undefined;
      if (!found) return undefined;
      const { seal, ...record } = found;
      const expected = mac(key, record as SessionRecord);
      const given = typeof seal === 'string' ? Buffer.from(seal, 'base64url') : Buffer.alloc(0);
      if (given.length === expected.length && timingSafeEqual(given, expected)) return record as SessionRecord;
      refused(key);
      return undefined;
    },
  };
}
