/**
 * What a client's Idempotency-Key was first used for: the action it created and what is needed to publish that
 * action's `action proposed` event again, the same event (its id is derived from the action id). The proposal
 * itself is not kept: a retry carries it again, and `requestDigest` proves it is the same one.
 */
export interface IdempotencyRecord {
  actionId: string;
  requestDigest: string;
  /** The correlation id of the first request: the action's chain keeps it whichever request publishes. */
  correlationId: string;
  /** When the action was proposed (the event's `time`, ISO 8601): a re-published event is the first one, byte for byte. */
  proposedAt: string;
}

/**
 * Client idempotency keys, scoped by the agent proposing (its agent id, whichever token it came with; older rows: the
 * principal, which is the agent id for an agent of its own): a retried POST publishes and returns the action of the first one.
 * `claim` is atomic: of two concurrent requests with one key, exactly one creates the action. A claimed key is
 * never released (only its expiry ends it): a publish that failed may still land later, and a retry that made a
 * second action would then execute twice.
 */
export interface IdempotencyRepository {
  /** Stores the record if the key is new; otherwise returns the record stored first. */
  claim(scope: string, key: string, record: IdempotencyRecord): Promise<IdempotencyRecord | undefined>;
}
