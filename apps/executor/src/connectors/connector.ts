/** What a connector receives: the action as approved, never the reviewer-facing (masked) copy. */
export interface ConnectorRequest {
  actionId: string;
  actionType: string;
  target: string;
  parameters: Record<string, unknown>;
  tenant: string;
  digest: string;
}

export type ConnectorResult =
  /**
   * `attempts`: how many requests carried the action to the target, all under its idempotency key (2 when
   * a dropped connection made the connector send it once more); the executed event reports it.
   */
  | { status: 'executed'; externalRequestId?: string; attempts: number }
  | { status: 'failed'; error: string }
  /**
   * The target may or may not have acted: a reconciler must ask it, never call again blindly. `retryAfterMs`: how long
   * the target asked to be left alone (its `Retry-After`, capped at `MAX_RETRY_AFTER_MS`): nothing is sent to it again
   * for this action before then.
   */
  | { status: 'outcome_unknown'; error: string; retryAfterMs?: number };

/**
 * The longest wait a target's `Retry-After` sets (15 minutes): a target cannot park an action for a day, and an action
 * still unknown after `maxResends` looks goes to a person as before (30 looks: at most 7.5 hours of such waits).
 */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;

/**
 * A `Retry-After` header's wait in ms (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), capped at `MAX_RETRY_AFTER_MS`;
 * undefined when absent or unreadable (then the reconciler's own pace holds).
 */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d{1,10}$/.test(value)) return Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS);
  // An HTTP-date names a day of the week and GMT; Date.parse alone takes "1" or "2026" too.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/** What the target says of an action sent under a key: it took effect, it did not, or it cannot tell. */
export type TargetStatus = 'done' | 'not-done' | 'unknown';

/**
 * What a connector's target promises, which decides how the reconciler settles an unknown outcome: re-send under
 * the same key (only to a target that applies an action once per key), ask the target, or ask a person.
 */
export interface ConnectorCapabilities {
  /** The target applies an action at most once per Idempotency-Key: sending it again under the same key is safe. */
  idempotentByKey: boolean;
  /** Asks the target whether the action sent under `idempotencyKey` took effect. */
  statusQuery?: (idempotencyKey: string) => Promise<TargetStatus>;
}

/** Carries an action out on a target system, idempotently under `idempotencyKey`. */
export interface Connector {
  readonly name: string;
  /** Declared by every connector: a connector that promises nothing is settled by a person. */
  readonly capabilities: ConnectorCapabilities;
  /**
   * How many calls it makes at once (its connections): the executor runs no more than this many and reads its brakes
   * again only once a call can go out at once, not before a wait in the connector's own queue. Unset: no limit.
   */
  readonly maxInFlight?: number;
  /** The longest one call takes before it is given up (ms): the executor calls only while its claim's lease covers it. */
  readonly timeoutMs?: number;
  execute(request: ConnectorRequest, idempotencyKey: string, delivery?: Delivery): Promise<ConnectorResult>;
}

/** How a call stands to the earlier ones under its key. */
export interface Delivery {
  /**
   * An earlier delivery under this key may have reached the target (the reconciler's re-send of an unknown outcome): a
   * refusal now does not prove the action was not applied (a target still applying it answers 409), so it is no final
   * failure.
   */
  again?: boolean;
}

export const CONNECTORS = Symbol('Connectors');

/** Connectors by action type, with a default. */
export class ConnectorRegistry {
  constructor(
    private readonly fallback: Connector,
    private readonly byType: Record<string, Connector> = {},
  ) {}

  for(actionType: string): Connector {
    return this.byType[actionType] ?? this.fallback;
  }
}
