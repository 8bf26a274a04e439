import type { Redis } from 'ioredis';
import { SessionRecord, SessionStore } from './session.store';

/**
 * Sessions in Redis, shared by every review-queue instance: a reviewer signed in on one is signed in on all, and a
 * restart signs nobody out. Each record is one key with its expiry (`PX`), so Redis drops what nobody ends. A Redis
 * outage answers 503 (the platform's filter): nobody is let in on a session that cannot be read. A flush signs
 * everyone out (they sign in again; nothing else is lost: sessions are derived state).
 */
export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'inbox:session:',
    private readonly now: () => number = Date.now,
  ) {}

  async set(key: string, record: SessionRecord, expiresAt: number): Promise<void> {
    const ttl = Math.ceil(expiresAt - this.now());
    if (ttl <= 0) return void (await this.redis.del(this.prefix + key));
    await this.redis.set(this.prefix + key, JSON.stringify(record), 'PX', ttl);
  }

  async touch(key: string, record: SessionRecord, expiresAt: number): Promise<boolean> {
    const ttl = Math.ceil(expiresAt - this.now());
    if (ttl <= 0) return (await this.redis.del(this.prefix + key)) > 0;
    // XX: only over a key still there. A sign-out's DEL between this request's read and this write wins.
    return (await this.redis.set(this.prefix + key, JSON.stringify(record), 'PX', ttl, 'XX')) === 'OK';
  }

  async get(key: string): Promise<SessionRecord | undefined> {
    const raw = await this.redis.get(this.prefix + key);
    return raw === null ? undefined : (JSON.parse(raw) as SessionRecord);
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }
}

/** The inbox's sessions in Redis, for a distributed review queue; `main.ts` picks it. */
export const createSessionStore = (redis: Redis): SessionStore => new RedisSessionStore(redis);
