import { IdempotencyRecord, IdempotencyRepository } from './idempotency.repository';

/** The in-process twin of the PostgreSQL idempotency store. */
export class InMemoryIdempotencyRepository implements IdempotencyRepository {
  private readonly records = new Map<string, IdempotencyRecord>();

  async claim(principal: string, key: string, record: IdempotencyRecord) {
    const k = `${principal}\u0000${key}`;
    const existing = this.records.get(k);
    if (existing) return { ...existing };
    this.records.set(k, { ...record });
    return undefined;
  }
}

/** Client idempotency keys in process: the embedded mode's. */
export const createInMemoryIdempotencyRepository = (): IdempotencyRepository => new InMemoryIdempotencyRepository();
