/** An answer of the Countersign API that is not a success, or the client's own wait that ended. */
export class CountersignError extends Error {
  /**
   * Set by `propose`: the Idempotency-Key its tries were sent under. After a 503 or a lost connection the proposal may
   * have arrived all the same: propose again with this key to reach the same action, never a second one.
   */
  idempotencyKey?: string;

  constructor(
    /** The HTTP status the server answered (408 for the client's own wait that timed out). */
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: the proposal or the request does not validate; `message` is the server's (e.g. the JSON pointer). */
export class BadRequestError extends CountersignError {}
/** 401: no token, or a token the server does not know. */
export class UnauthorizedError extends CountersignError {}
/** 403: the token may not do this (e.g. propose as another agent id). */
export class ForbiddenError extends CountersignError {}
/** 404: no such action (yet: the read model may not have caught up). */
export class NotFoundError extends CountersignError {}
/** 409: the Idempotency-Key was already used for another proposal, or the state forbids the request. */
export class ConflictError extends CountersignError {}
/** 413: the body is over the server's size limit. */
export class PayloadTooLargeError extends CountersignError {}
/** 429: too many requests; `retryAfterSeconds` says when to try again (from `Retry-After`). */
export class RateLimitedError extends CountersignError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(429, message);
  }
}
/**
 * 503, a gateway's 502 or 504, or no connection, after every retry: the server or one of its dependencies is away; retry
 * later (a proposal under the same Idempotency-Key, `idempotencyKey` says which).
 */
export class UnavailableError extends CountersignError {}
/**
 * 502: an answer that is not Countersign's (a redirect, or a success whose body is not what the API answers): a proxy
 * or another server in between. Never taken for a success; a redirect is not followed (the token stays here).
 */
export class UnexpectedAnswerError extends CountersignError {}
/**
 * `awaitDecision` ran out of time: the action is not decided (or final) yet; `lastView`, if any, says where it is. On
 * `outcome_unknown` the executor is still settling it: wait again, never propose it again.
 */
export class DecisionTimeoutError extends CountersignError {
  constructor(
    message: string,
    readonly lastView: unknown,
  ) {
    super(408, message);
  }
}

/** The typed error of an HTTP answer that is not a success. */
export function errorFor(status: number, message: string, retryAfter: string | null): CountersignError {
  switch (status) {
    case 400:
      return new BadRequestError(status, message);
    case 401:
      return new UnauthorizedError(status, message);
    case 403:
      return new ForbiddenError(status, message);
    case 404:
      return new NotFoundError(status, message);
    case 409:
      return new ConflictError(status, message);
    case 413:
      return new PayloadTooLargeError(status, message);
    case 429:
      return new RateLimitedError(message, parseRetryAfter(retryAfter));
    case 502:
    case 503:
    case 504:
      return new UnavailableError(status, message);
    default:
      return new CountersignError(status, message);
  }
}

/** `Retry-After` in seconds (the delta form; an HTTP date is read too), or undefined. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
