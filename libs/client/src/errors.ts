/** An answer of the Countersign API that is not a success, or the client's own wait that ended. */
export class CountersignError extends Error {
  /**
   * Set by `propose` on every error it throws once a try may have been sent (an abort and an answer it does not know
   * included): the Idempotency-Key its tries were sent under. The proposal may have arrived all the same: propose again
   * with this key to reach the same action, never a second one.
   */
  idempotencyKey?: string;
  /**
   * The action id an answer named, where the client could not take the answer as a whole (a success of a shape it
   * does not know): the proposal may have been accepted as this action.
   */
  actionId?: string;
  /** The server's `X-Correlation-Id` for the answer behind this error, to find its log lines; absent without an answer. */
  correlationId?: string;
  /**
   * The status of the HTTP answer behind this error (a redirect's 307, a success's 202 whose body was not the API's, a
   * server's own 408), or absent when there was none: no connection, an abort, the client's own wait that ran out
   * (`DecisionTimeoutError`, whose `status` is 408 too). `status` is the error's class of failure, this is the wire.
   */
  httpStatus?: number;

  constructor(
    /** The HTTP status the server answered (408 for the client's own wait that timed out; see `httpStatus`). */
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /**
   * What a log line or a JSON body shows of the error: the message (not enumerable, so JSON.stringify would drop it)
   * and the ids to trace and resend it by, and nothing bulky or taken from a request (no view, no cause, no header).
   */
  toJSON(): Record<string, unknown> {
    const { name, message, status, httpStatus, idempotencyKey, actionId, correlationId } = this;
    return { name, message, status, httpStatus, idempotencyKey, actionId, correlationId };
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
/** 415: the body is not `application/json` (or comes in a content coding the server does not take). */
export class UnsupportedMediaTypeError extends CountersignError {}
/** 429: too many requests; `retryAfterSeconds` says when to try again (from `Retry-After`). */
export class RateLimitedError extends CountersignError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(429, message);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryAfterSeconds: this.retryAfterSeconds };
  }
}
/**
 * 503, a gateway's 502 or 504, or no connection, after every retry: the server or one of its dependencies is away; retry
 * later (a proposal under the same Idempotency-Key, `idempotencyKey` says which).
 */
export class UnavailableError extends CountersignError {
  /** The server's `Retry-After` in seconds, where its last answer gave one. */
  retryAfterSeconds?: number;
}
/**
 * The server's certificate was refused (not from a trusted root, expired, for another name): the connection was never
 * made, and it is not retried, as a restart will not change it; `cause` is the TLS error (its `code`, e.g.
 * `SELF_SIGNED_CERT_IN_CHAIN`). An `UnavailableError` (503) still, as before there was this class, so code that caught
 * "no connection" catches it; `awaitDecision` does not wait through it.
 */
export class CertificateError extends UnavailableError {}
/**
 * 502: an answer that is not Countersign's (a redirect, or a success whose body is not what the API answers): a proxy
 * or another server in between. Never taken for a success; a redirect is not followed (the token stays here).
 */
export class UnexpectedAnswerError extends CountersignError {}
/**
 * An answer's body was longer than `maxAnswerBytes` (4 MiB by default): reading stopped there and the connection was
 * closed. Not retried: Countersign's answers are far smaller, so it is something else answering, and a second try
 * would only fetch it again.
 */
export class AnswerTooLargeError extends UnexpectedAnswerError {
  constructor(
    message: string,
    /** The limit the answer went past, in bytes. */
    readonly limitBytes: number,
  ) {
    super(502, message);
  }
}
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

  /** The last view's status, not the view: its timeline is long, and carries what people wrote. */
  override toJSON(): Record<string, unknown> {
    const lastStatus = (this.lastView as { status?: unknown } | undefined)?.status;
    return { ...super.toJSON(), lastStatus: typeof lastStatus === 'string' ? lastStatus : undefined };
  }
}
/**
 * `propose` was stopped by its signal (an `AbortSignal.timeout`, a shutdown): `cause` is the signal's reason. A try may
 * have reached the server before it stopped, so this carries `idempotencyKey` as every `propose` error does: propose
 * again with it to reach the same action. `status` is 499, the client closed the request (no answer: no `httpStatus`).
 * `status()` and `awaitDecision` still reject with the signal's reason itself: nothing is lost by stopping a read.
 */
export class AbortedError extends CountersignError {
  constructor(message: string, options: ErrorOptions) {
    super(499, message, options);
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
    case 415:
      return new UnsupportedMediaTypeError(status, message);
    case 429:
      return new RateLimitedError(message, parseRetryAfter(retryAfter));
    case 502:
    case 503:
    case 504: {
      const error = new UnavailableError(status, message);
      error.retryAfterSeconds = parseRetryAfter(retryAfter);
      return error;
    }
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
