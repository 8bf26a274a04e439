/** What a client's Idempotency-Key was first used for. */
export interface IdempotencyRecord {
  actionId: string;
  requestDigest: string;
}

/**
 * Client idempotency keys, scoped by principal: a retried POST returns the action of the first one.
 * `claim` is atomic: of two concurrent requests with one key, exactly one creates the action.
 */
export interface IdempotencyRepository {
  /** Stores the record if the key is new; otherwise returns the record stored first. */
  claim(principal: string, key: string, record: IdempotencyRecord): Promise<IdempotencyRecord | undefined>;
  release(principal: string, key: string): Promise<void>;
}
