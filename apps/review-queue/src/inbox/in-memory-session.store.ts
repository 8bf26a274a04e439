import { SessionRecord, SessionStore } from './session.store';

/**
 * Sessions in this process's memory: a restart signs every reviewer out (they sign in again; nothing is lost). Enough
 * for the embedded mode and one review-queue instance; several instances behind one address need a shared store.
 */
export class InMemorySessionStore implements SessionStore {
  private readonly records = new Map<string, { record: SessionRecord; expiresAt: number }>();
  private sweptAt = -Infinity;

  constructor(private readonly now: () => number = Date.now) {}

  async set(key: string, record: SessionRecord, expiresAt: number): Promise<void> {
    this.sweep();
    this.records.set(key, { record: structuredClone(record), expiresAt });
  }

  async touch(key: string, record: SessionRecord, expiresAt: number): Promise<boolean> {
    if ((await this.get(key)) === undefined) return false;
    await this.set(key, record, expiresAt);
    return true;
  }

  async get(key: string): Promise<SessionRecord | undefined> {
    const found = this.records.get(key);
    if (!found) return undefined;
    if (found.expiresAt <= this.now()) {
      this.records.delete(key);
      return undefined;
    }
    return structuredClone(found.record);
  }

  async delete(key: string): Promise<void> {
    this.records.delete(key);
  }

  /** Drops expired records, so abandoned sign-ins do not pile up: at most once a second (not a walk per write). */
  private sweep() {
    const now = this.now();
    if (now - this.sweptAt < 1_000) return;
    this.sweptAt = now;
    for (const [key, { expiresAt }] of this.records) if (expiresAt <= now) this.records.delete(key);
  }
}

export const createInMemorySessionStore = (now?: () => number): SessionStore => new InMemorySessionStore(now);
