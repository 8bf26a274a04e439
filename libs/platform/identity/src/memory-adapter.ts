import type { Adapter, AdapterPayload } from 'oidc-provider';

export interface MemoryAdapterOptions {
  /** The most records kept per model (default 10,000): past it the oldest written goes first. */
  maxPerModel: number;
  /** How often expired records are removed (default every minute). */
  sweepMs: number;
  /** The clock records expire by (tests move it). */
  now: () => number;
}

export const DEFAULT_MEMORY_ADAPTER: MemoryAdapterOptions = { maxPerModel: 10_000, sweepMs: 60_000, now: Date.now };

interface Stored {
  payload: AdapterPayload;
  expiresAt: number;
}

/** The adapter factory oidc-provider is given, with what the provider needs around it. */
export interface MemoryAdapter {
  factory: (model: string) => Adapter;
  /** Removes the expired records now (the timer does this every `sweepMs`). */
  sweep(): void;
  /** How many records a model holds (expired ones not yet swept included). */
  size(model: string): number;
  /** How many entries the `uid` and grant indexes hold. */
  indexSizes(): { uids: number; grants: number };
  /** Stops the sweep timer. */
  close(): void;
}

/**
 * oidc-provider's storage (sessions, interactions, codes, grants) in this process's memory, with expiry: what a local
 * provider needs, said plainly (the library's own stand-in warns on every start that it is for development only).
 * A restart signs everyone out of the provider; the review queue's sessions are its own.
 *
 * Bounded whatever arrives: every `/auth` request, cookies followed or not, stores an interaction, so expired records
 * are swept on a timer (not only when looked up again: an abandoned one never is), and each model keeps at most
 * `maxPerModel` records, the oldest written evicted first (red team, H1: 2.7 KB kept per request, never freed).
 */
export function memoryAdapter(options: Partial<MemoryAdapterOptions> = {}): MemoryAdapter {
  const { maxPerModel, sweepMs, now } = { ...DEFAULT_MEMORY_ADAPTER, ...options };
  // Per model, in write order (a write re-inserts): the first entry is the one to evict.
  const models = new Map<string, Map<string, Stored>>();
  // `model:uid` → id (a uid is looked up within its model: oidc-provider looks sessions up by theirs).
  const uids = new Map<string, string>();
  // `model:grantId` → the ids of that model's records under the grant. Per model: oidc-provider revokes a grant model by
  // model (access tokens, codes…), and a sign-in under way (an Interaction) carries the grantId of the session it may
  // replace. Revoking across models removed that Interaction as the provider ended the earlier person's session, so
  // signing in as bob where alice was signed in at the provider ended on "interaction session not found" (2026-12-06).
  const grants = new Map<string, Set<string>>();

  const recordsOf = (model: string) => {
    let records = models.get(model);
    if (!records) models.set(model, (records = new Map()));
    return records;
  };

  // Removes a record and its index entries (only those still pointing at it).
  const remove = (model: string, id: string) => {
    const records = models.get(model);
    const found = records?.get(id);
    if (!records || !found) return;
    records.delete(id);
    const { uid, grantId } = found.payload;
    if (uid && uids.get(`${model}:${uid}`) === id) uids.delete(`${model}:${uid}`);
    if (grantId) {
      const issued = grants.get(`${model}:${grantId}`);
      issued?.delete(id);
      if (issued?.size === 0) grants.delete(`${model}:${grantId}`);
    }
  };

  const sweep = () => {
    const t = now();
    for (const [model, records] of models) for (const [id, r] of records) if (r.expiresAt <= t) remove(model, id);
  };
  const timer = setInterval(sweep, sweepMs);
  timer.unref();

  class Memory implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const records = recordsOf(this.model);
      remove(this.model, id);
      records.set(id, { payload, expiresAt: now() + expiresIn * 1000 });
      if (payload.uid) uids.set(`${this.model}:${payload.uid}`, id);
      if (payload.grantId) {
        const key = `${this.model}:${payload.grantId}`;
        grants.set(key, (grants.get(key) ?? new Set<string>()).add(id));
      }
      while (records.size > maxPerModel) remove(this.model, records.keys().next().value!);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const found = models.get(this.model)?.get(id);
      if (!found) return undefined;
      if (found.expiresAt > now()) return found.payload;
      remove(this.model, id);
      return undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = uids.get(`${this.model}:${uid}`);
      return id ? this.find(id) : undefined;
    }

    async findByUserCode(): Promise<AdapterPayload | undefined> {
      return undefined;
    }

    async consume(id: string): Promise<void> {
      const found = models.get(this.model)?.get(id);
      if (found) found.payload.consumed = Math.floor(now() / 1000);
    }

    async destroy(id: string): Promise<void> {
      remove(this.model, id);
    }

    /** This model's records under the grant (oidc-provider calls it on each model it revokes). */
    async revokeByGrantId(grantId: string): Promise<void> {
      for (const id of [...(grants.get(`${this.model}:${grantId}`) ?? [])]) remove(this.model, id);
    }
  }
  return {
    // A factory, not the class: oidc-provider's test of "is a constructor" fails across realms (under Jest).
    factory: (model: string): Adapter => new Memory(model),
    sweep,
    size: (model) => models.get(model)?.size ?? 0,
    indexSizes: () => ({ uids: uids.size, grants: grants.size }),
    close: () => clearInterval(timer),
  };
}
