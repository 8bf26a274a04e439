import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * oidc-provider's storage (sessions, interactions, codes, grants) in this process's memory, with expiry: what a local
 * provider needs, said plainly (the library's own stand-in warns on every start that it is for development only).
 * A restart signs everyone out of the provider; the review queue's sessions are its own.
 */
export function memoryAdapter() {
  const records = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  const uids = new Map<string, string>();
  const grants = new Map<string, Set<string>>();
  class MemoryAdapter implements Adapter {
    constructor(private readonly model: string) {}

    private key = (id: string) => `${this.model}:${id}`;

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const key = this.key(id);
      records.set(key, { payload, expiresAt: Date.now() + expiresIn * 1000 });
      if (payload.uid) uids.set(payload.uid, id);
      if (payload.grantId) grants.set(payload.grantId, (grants.get(payload.grantId) ?? new Set()).add(key));
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const key = this.key(id);
      const found = records.get(key);
      if (found && found.expiresAt <= Date.now()) records.delete(key);
      return found && found.expiresAt > Date.now() ? found.payload : undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = uids.get(uid);
      return id ? this.find(id) : undefined;
    }

    async findByUserCode(): Promise<AdapterPayload | undefined> {
      return undefined;
    }

    async consume(id: string): Promise<void> {
      const found = records.get(this.key(id));
      if (found) found.payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id: string): Promise<void> {
      records.delete(this.key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      for (const key of grants.get(grantId) ?? []) records.delete(key);
      grants.delete(grantId);
    }
  }
  // A factory, not the class: oidc-provider's test of "is a constructor" fails across realms (under Jest).
  return (model: string): Adapter => new MemoryAdapter(model);
}
