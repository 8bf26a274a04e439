import { randomUUID } from 'node:crypto';
import { isIPv4 } from 'node:net';
import {
  AbortedError,
  AnswerTooLargeError,
  CertificateError,
  CountersignError,
  DecisionTimeoutError,
  errorFor,
  NotFoundError,
  parseRetryAfter,
  RateLimitedError,
  UnavailableError,
  UnexpectedAnswerError,
} from './errors';
import { fetchTrusting, TlsTrust } from './tls-fetch';
import { isDecided, isFinal } from './status';
import type { ActionStatus, ActionView, Proposed, ProposalInput } from './types';

/** How to reach Countersign. */
export interface CountersignClientOptions {
  /** The orchestrator's base URL, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /**
   * The agent's bearer token: printable ASCII, no spaces. Surrounding whitespace (a token file's last line break) is
   * dropped, as fetch would; anything else (a byte-order mark, a line break inside) is refused at construction, with an
   * error that does not show the token.
   */
  token: string;
  /** A `fetch` of your own (a proxy, a test double); the global one by default. */
  fetch?: typeof fetch;
  /** HTTPS with a private PKI: the root(s) to trust (PEM) for an `https:` base URL, instead of the system's (not with `fetch`). */
  tls?: TlsTrust;
  /** How many times a 503 (or a gateway's 502 or 504), a lost connection or a 429 with a short `Retry-After` is retried (default 4). */
  retries?: number;
  /** The first pause between retries, doubled each time with jitter (default 250 ms)… */
  backoffMs?: number;
  /** …up to this (default 5 000 ms; a longer `Retry-After` is capped to it). */
  maxBackoffMs?: number;
  /**
   * How long one call (each try of it) may take before it counts as a lost connection (default 30 000 ms; long polls
   * get their wait on top). This and the two above are at most 2 147 483 647 ms (about 24.8 days, the longest a Node
   * timer keeps); a longer one is refused rather than firing at once.
   */
  requestTimeoutMs?: number;
  /**
   * The longest answer body read, in bytes (default 4 MiB; Countersign's answers are a few KiB). Reading stops past it
   * and the call fails with `AnswerTooLargeError`, not retried.
   */
  maxAnswerBytes?: number;
  /**
   * Allows a plain `http:` base URL to a host other than this machine (the token then crosses the network in clear).
   * Off by default: `http:` is for `127.0.0.1`, `::1` and `localhost` (the embedded mode, a sidecar); use `https:`.
   */
  insecureHttp?: boolean;
}

/** What `awaitDecision` waits for: a decision (the default), or a final state (executed, failed, rejected…). */
export interface AwaitOptions {
  /** The whole wait, over as many long polls as it takes: any length (a wait past Node's timer limit is kept in steps). */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * `decision` (the default): no human decision pending (`isDecided`). `final`: nothing more will happen (`isFinal`),
   * so not `outcome_unknown`, which the executor is still settling: the wait goes on until it is `executed` or
   * `failed`, or ends with `DecisionTimeoutError` whose `lastView` is `outcome_unknown` (never propose it again then).
   */
  waitFor?: 'decision' | 'final';
}

/** The longest one long poll asks the server to hold (the server's bound). */
const MAX_POLL_MS = 30_000;
/** A poll that comes back undecided sooner than this (a server that does not long-poll) is followed by a pause. */
const MIN_POLL_SPACING_MS = 500;
/** How long past its deadline `awaitDecision` waits for the answer of a poll the server holds until that deadline. */
const DEADLINE_GRACE_MS = 2_000;
/** The longest delay a Node timer keeps (2^31 - 1 ms, about 24.8 days): a longer one fires after 1 ms, with a warning. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** The default of `maxAnswerBytes`: far above any answer of the API, far below what would hurt an agent's memory. */
const DEFAULT_MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/**
 * The typed client agents use to propose actions to Countersign and wait for their decisions. Errors are
 * `CountersignError`s (`BadRequestError`, `ForbiddenError`, …); a 503 or a lost connection is retried with backoff,
 * and a proposal is always retried under the same Idempotency-Key, so a retry can never make a second action.
 */
export class CountersignClient {
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxAnswerBytes: number;
  /**
   * The bearer token, in a private field: `JSON.stringify(client)` and `util.inspect(client)` do not show it (first-user
   * pass, 2026-12-07: both printed the token, and the options it came in, to whatever logged the client).
   */
  readonly #token: string;

  constructor(options: CountersignClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    if (options.fetch && options.tls) throw new Error('CountersignClient: give either `fetch` or `tls`, not both (a fetch of your own sets its own trust)');
    const problem = baseUrlProblem(this.baseUrl, options);
    if (problem) throw new Error(`CountersignClient: ${problem}`);
    this.#token = bearerToken(options.token);
    this.fetch = options.fetch ?? (options.tls ? fetchTrusting(options.tls) : globalThis.fetch);
    this.retries = Math.ceil(atLeastZero('retries', options.retries ?? 4, Number.MAX_SAFE_INTEGER));
    this.backoffMs = atLeastZero('backoffMs', options.backoffMs ?? 250, MAX_TIMER_MS);
    this.maxBackoffMs = atLeastZero('maxBackoffMs', options.maxBackoffMs ?? 5_000, MAX_TIMER_MS);
    this.requestTimeoutMs = Math.ceil(atLeastZero('requestTimeoutMs', options.requestTimeoutMs ?? 30_000, MAX_TIMER_MS));
    this.maxAnswerBytes = Math.floor(atLeastZero('maxAnswerBytes', options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES, Number.MAX_SAFE_INTEGER));
  }

  /** What a log line shows of the client: where it sends, never its token. */
  toJSON(): Record<string, unknown> {
    return { baseUrl: this.baseUrl };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `CountersignClient { baseUrl: ${JSON.stringify(this.baseUrl)} }`;
  }

  /**
   * Proposes an action (`POST /v1/proposals`). Without an `idempotencyKey` one is made; either way every retry of this
   * call sends the same key, and the answer returns it so that a later resend (after a crash) can reuse it. Every error
   * it throws once a try may have been sent carries the key (`idempotencyKey`): a `CountersignError`, an abort included
   * (`AbortedError`, the signal's reason as its `cause`). A key that is not the server's shape is refused (TypeError)
   * before anything is sent, without being shown.
   */
  async propose(proposal: ProposalInput, options: { idempotencyKey?: string; signal?: AbortSignal } = {}): Promise<Proposed> {
    if (options.idempotencyKey !== undefined) checkIdempotencyKey(options.idempotencyKey);
    const idempotencyKey = options.idempotencyKey ?? `cs-${randomUUID()}`;
    // The call's own correlation id, the same on every try: the server takes it for the action's chain, and an error with
    // no answer still has an id to search the server's logs by.
    const correlationId = randomUUID();
    try {
      const answer = await this.request('POST', '/v1/proposals', {
        body: proposal,
        headers: { 'Idempotency-Key': idempotencyKey, 'X-Correlation-Id': correlationId },
        signal: options.signal,
      });
      const body = answer.body;
      if (isObject(body) && typeof body.actionId === 'string' && ACTION_ID.test(body.actionId) && isStatus(body.status))
        return { actionId: body.actionId, status: body.status, idempotencyKey };
      // A success the client does not know (a newer status, a proxy's `{}`): not taken for an accepted proposal, but it
      // may have been one, so the error says which action it named, if a plain id, and (below) the key to resend under.
      const error = answered(
        new UnexpectedAnswerError(
          502,
          `POST /v1/proposals answered ${answer.status} without a plain action id and a status the API answers: not Countersign's answer as it knows it (a proxy in between, a newer server?); the proposal may have been accepted all the same`,
        ),
        answer,
      );
      if (isObject(body) && typeof body.actionId === 'string' && ACTION_ID.test(body.actionId)) error.actionId = body.actionId;
      throw error;
    } catch (e) {
      // The key goes with every error: a proposal that was not answered (or stopped, or answered in a way the client
      // does not know) may have arrived, and a resend under a new key would make a second action (red team, 2026-12-04:
      // two replies to one customer; 2026-12-06: an `AbortSignal.timeout` lost the key).
      throw carryingKey(e, idempotencyKey, correlationId, options.signal);
    }
  }

  /** The action's current view (`GET /v1/actions/{id}`); `NotFoundError` until the read model knows it. */
  async status(actionId: string, options: { signal?: AbortSignal } = {}): Promise<ActionView> {
    try {
      return viewOf(await this.request('GET', `/v1/actions/${encodeURIComponent(actionId)}`, { signal: options.signal }), actionId);
    } catch (e) {
      throw aboutAction(e, actionId);
    }
  }

  /**
   * Waits until the action is decided (or final, with `waitFor: 'final'`) and returns its view. It loops over long
   * polls (`?waitFor=…&timeoutMs=…`, each at most 30 s), never a busy loop; an action the server does not know yet is
   * waited for too, and so is a server that answers 5xx or 429 or does not answer at all (with backoff, never sooner than
   * its `Retry-After`): only a definite answer or the deadline ends the wait. Rejects with `DecisionTimeoutError`
   * (carrying the last view) at `timeoutMs` (a server that does not answer its last poll is given 2 s more), with the
   * signal's reason when aborted, and with a typed error on 401/403. `outcome_unknown` is not final (the executor is
   * settling it): a wait for `final` goes on through it, and a timeout on it says so; never propose such an action again.
   */
  async awaitDecision(actionId: string, options: AwaitOptions): Promise<ActionView> {
    const waitFor = options.waitFor ?? 'decision';
    // Any length: a wait for a person may be long, and the wait is kept in steps a Node timer can hold.
    const timeoutMs = Math.ceil(atLeastZero('timeoutMs', options.timeoutMs, Number.MAX_SAFE_INTEGER));
    const deadline = Date.now() + timeoutMs;
    const timeUp = new AbortController();
    // The last poll is answered at the deadline, not before: its answer gets a moment to arrive before the wait is cut.
    const timer = after(timeoutMs + DEADLINE_GRACE_MS, () => timeUp.abort());
    const signal = options.signal ? AbortSignal.any([options.signal, timeUp.signal]) : timeUp.signal;
    let last: ActionView | undefined;
    let failures = 0;
    // One correlation id for the wait's polls: its error, a timeout included, names it and the action.
    const correlationId = randomUUID();
    const timedOut = (): DecisionTimeoutError => aboutAction(timeoutOf(actionId, waitFor, timeoutMs, last), actionId, correlationId);
    try {
      for (;;) {
        const pollMs = Math.max(0, Math.min(MAX_POLL_MS, deadline - Date.now()));
        const started = Date.now();
        let pause = 0;
        try {
          const path = `/v1/actions/${encodeURIComponent(actionId)}?waitFor=${waitFor}&timeoutMs=${pollMs}`;
          last = viewOf(await this.request('GET', path, { signal, holdMs: pollMs, headers: { 'X-Correlation-Id': correlationId } }), actionId);
          if (waitFor === 'decision' ? isDecided(last.status) : isFinal(last.status)) return last;
          failures = 0;
        } catch (e) {
          if (!waitsThrough(e)) throw e;
          // The server away, failing or over the rate: it may be executing the action all the while, and a caller that
          // gave up here would propose it again. Backed off, and never sooner than the server's Retry-After.
          if (!(e instanceof NotFoundError)) pause = this.retryWait(retryAfterMs(e), failures++, Infinity);
        }
        if (Date.now() >= deadline) throw timedOut();
        const untilDeadline = deadline - Date.now();
        const wait = Math.min(Math.max(pause, MIN_POLL_SPACING_MS - (Date.now() - started)), untilDeadline);
        if (wait > 0) await sleep(wait, signal);
        // Not one more poll past the deadline: after a Retry-After, that would be sooner than the server said. A wait cut
        // at the deadline ends it, even when its timer fired a millisecond before `Date.now()` reached it (a clean clone,
        // 2026-12-07: a last poll of `timeoutMs=1`).
        if (wait === untilDeadline || Date.now() >= deadline) throw timedOut();
      }
    } catch (e) {
      if (timeUp.signal.aborted && !options.signal?.aborted && !(e instanceof DecisionTimeoutError)) throw timedOut();
      throw aboutAction(e, actionId, correlationId);
    } finally {
      timer.clear();
    }
  }

  /**
   * One call, retried on 503 (and a gateway's 502 or 504), on a lost connection and on a 429 whose `Retry-After` is
   * within `maxBackoffMs` (the same headers, so the same Idempotency-Key). Each try ends after `requestTimeoutMs` (plus
   * `holdMs`, a long poll's wait) as a lost connection. Redirects are not followed: the API never redirects, so one is
   * an answer from something else, and the token is not sent on to it. Not retried: an answer over `maxAnswerBytes`, a
   * refused certificate, and a request fetch refuses to make (a local mistake, which no retry mends).
   */
  private async request(
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal; holdMs?: number },
  ): Promise<Answer> {
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: `Bearer ${this.#token}`,
      'X-Correlation-Id': randomUUID(),
      ...init.headers,
    };
    const sent = headers['X-Correlation-Id'];
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const tryMs = Math.min(MAX_TIMER_MS, this.requestTimeoutMs + (init.holdMs ?? 0));
    for (let attempt = 0; ; attempt++) {
      init.signal?.throwIfAborted();
      let res: Response;
      const tryTimeout = AbortSignal.timeout(tryMs);
      try {
        res = await this.fetch(url, {
          method,
          headers,
          body,
          redirect: 'manual',
          signal: init.signal ? AbortSignal.any([init.signal, tryTimeout]) : tryTimeout,
        });
      } catch (e) {
        if (init.signal?.aborted) throw init.signal.reason;
        const failure = tryTimeout.aborted ? { kind: 'network' as const, what: `no answer within ${tryMs} ms` } : this.fetchFailure(e);
        if (failure.kind === 'local')
          // fetch's own message quotes the header it refused, the token's included: the class is named, not the text.
          throw new TypeError(
            `${method} ${path} could not be sent: fetch refused the request itself (${failure.what}; its text is not shown, as it may quote a header)`,
          );
        // No answer: the id sent is the one to search the server's logs by (a try may have arrived).
        if (failure.kind === 'certificate')
          throw unanswered(
            new CertificateError(
              503,
              `${method} ${path}: the server's certificate was refused (${failure.what}); not retried, a retry would meet the same certificate`,
              { cause: this.scrubbed(e) },
            ),
            sent,
          );
        if (attempt >= this.retries)
          throw unanswered(new UnavailableError(503, `no answer from ${method} ${path}: ${failure.what}`, { cause: this.scrubbed(e) }), sent);
        await sleep(this.backoff(attempt), init.signal);
        continue;
      }
      // The server's, which is the one sent unless it could not take it.
      const correlationId = correlationOf(res.headers) ?? sent;
      const reply = { status: res.status, correlationId };
      if (res.status >= 300 && res.status < 400) {
        void res.body?.cancel().catch(() => undefined);
        throw answered(
          new UnexpectedAnswerError(
            502,
            `${method} ${path} was answered ${res.status} (a redirect${res.headers.get('location') ? ` to ${res.headers.get('location')}` : ''}): Countersign's API does not redirect, so it was not followed and the token was not sent on`,
          ),
          reply,
        );
      }
      let read: { text: string; bytes: number } | undefined;
      try {
        read = await readCapped(res, this.maxAnswerBytes);
      } catch (e) {
        // The connection broke while the answer was read: a lost connection, retried as one (under the same key).
        if (init.signal?.aborted) throw init.signal.reason;
        if (attempt >= this.retries)
          throw answered(new UnavailableError(503, `the answer to ${method} ${path} broke off: ${this.describe(e)}`, { cause: this.scrubbed(e) }), reply);
        await sleep(this.backoff(attempt), init.signal);
        continue;
      }
      if (read === undefined)
        throw answered(
          new AnswerTooLargeError(
            `${method} ${path} answered ${res.status} with a body over ${this.maxAnswerBytes} bytes (maxAnswerBytes): reading stopped there, and it is not retried; not Countersign's answer`,
            this.maxAnswerBytes,
          ),
          reply,
        );
      const json = parseJson(read.text);
      if (res.ok) {
        if (json === undefined)
          throw answered(
            new UnexpectedAnswerError(502, `${method} ${path} answered ${res.status} with a body that is not JSON: not Countersign's answer`),
            reply,
          );
        return { body: json, ...reply };
      }
      // 503 is the server's own "not now"; 502 and 504 are a proxy's or load balancer's word that the server did not
      // answer in time or at all: each is retried under the same headers, so the same Idempotency-Key.
      if (GATEWAY_STATUSES.has(res.status) && attempt < this.retries) {
        await sleep(this.retryWait((parseRetryAfter(res.headers.get('retry-after')) ?? 0) * 1000, attempt, this.maxBackoffMs), init.signal);
        continue;
      }
      // Over the principal's rate: waited out and retried (the same headers, so the same key) when the server's
      // Retry-After fits within maxBackoffMs; a longer wait is the caller's to plan (RateLimitedError says how long).
      const rateWait = res.status === 429 ? (parseRetryAfter(res.headers.get('retry-after')) ?? Infinity) * 1000 : Infinity;
      if (rateWait <= this.maxBackoffMs && attempt < this.retries) {
        await sleep(this.retryWait(rateWait, attempt, this.maxBackoffMs), init.signal);
        continue;
      }
      throw answered(errorFor(res.status, messageOf(json, read, res), res.headers.get('retry-after')), reply);
    }
  }

  private backoff(attempt: number): number {
    // Exponential with jitter, so that many agents cut off together do not come back together.
    return Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt) * (0.5 + Math.random() / 2);
  }

  /**
   * The pause before a retry the server asked to wait `askedMs` for: never before the server said, never sooner than
   * the backoff's own step, at most `capMs`; and when the server's wait is the longer, spread a little (up to a quarter
   * more, within the cap), so that many callers told the same second do not all come back in it (the backoff's step
   * has its own jitter).
   */
  private retryWait(askedMs: number, attempt: number, capMs: number): number {
    const step = this.backoff(attempt);
    return Math.min(capMs, askedMs > step ? askedMs * (1 + Math.random() / 4) : step);
  }

  /**
   * What kind of failure a fetch that threw is, and what to say of it. Node's fetch (and `fetchTrusting`) say "fetch
   * failed" for a connection that failed, with the reason as `cause`; a certificate is one of those, but not one that
   * passes. Any other TypeError is fetch refusing the request itself (a header it cannot send, a URL it cannot parse):
   * a local mistake, and its message quotes the value. A custom fetch's other errors count as a lost connection.
   */
  private fetchFailure(e: unknown): { kind: 'network' | 'certificate' | 'local'; what: string } {
    // By name, not `instanceof`: Node's fetch makes its errors in its own realm (a vm context, a test runner's, differs).
    const error = e as { name?: unknown; message?: unknown; cause?: unknown } | undefined;
    if (error?.name === 'TypeError' && !/^fetch failed\b/.test(String(error.message))) return { kind: 'local', what: 'TypeError' };
    const code = codeOf(error?.cause) ?? codeOf(e);
    return { kind: code !== undefined && CERTIFICATE_CODE.test(code) ? 'certificate' : 'network', what: this.describe(e) };
  }

  /**
   * The failure kept as an error's `cause`: its name, code and text as `describe` tells them, never the failure itself
   * (red team, 2026-12-07: a custom fetch's error that quoted the Authorization header was kept whole as `cause`, and
   * `console.log(err)` printed the token).
   */
  private scrubbed(e: unknown): Error {
    const error = e as { name?: unknown; cause?: unknown } | undefined;
    const kept = new Error(this.describe(e));
    kept.name = typeof error?.name === 'string' ? error.name : 'Error';
    const code = codeOf(error?.cause) ?? codeOf(e);
    if (code !== undefined) (kept as Error & { code?: string }).code = code;
    return kept;
  }

  /** An error as a message may quote it: its cause's code and text, never the token (a custom fetch may echo it). */
  private describe(e: unknown): string {
    const error = e as { name?: unknown; message?: unknown; cause?: unknown } | undefined;
    const cause = error?.cause as { message?: unknown; errors?: Array<{ message?: unknown }> } | undefined;
    const causeText = typeof cause?.message === 'string' && cause.message ? cause.message : cause?.errors?.[0]?.message;
    const code = codeOf(error?.cause) ?? codeOf(e);
    const head = typeof error?.message === 'string' && error.message ? error.message : String(error?.name ?? 'failed');
    const detail = [code, typeof causeText === 'string' ? causeText : undefined].filter(Boolean).join(': ');
    // The token out first, then the length: cut first, a token across the cut was not matched, and 44 of its 45
    // characters were kept (red team, 2026-12-07).
    const text = detail ? `${head} (${detail})` : head;
    return text.split(this.#token).join('[token]').slice(0, 300);
  }
}

/** An answer the client read: its body (JSON), status and correlation id. */
interface Answer {
  body: unknown;
  status: number;
  correlationId?: string;
}

/** Marks `error`, which had no answer, with the correlation id its request was sent under. */
function unanswered<E extends CountersignError>(error: E, correlationId: string): E {
  error.correlationId = correlationId;
  return error;
}

/** Marks `error` with the answer it came from: its status on the wire and its correlation id. */
function answered<E extends CountersignError>(error: E, answer: { status: number; correlationId?: string }): E {
  error.httpStatus = answer.status;
  error.correlationId = answer.correlationId;
  return error;
}

/** The server's `X-Correlation-Id`, if it is the shape the platform gives (anything else is not kept). */
function correlationOf(headers: Headers): string | undefined {
  const id = headers.get('x-correlation-id');
  return id !== null && /^[\w.:-]{1,200}$/.test(id) ? id : undefined;
}

/** `propose`'s error, with the key it sent under: a `CountersignError` marked, an abort made an `AbortedError`. */
function carryingKey(e: unknown, idempotencyKey: string, correlationId: string, signal: AbortSignal | undefined): unknown {
  // The signal's reason is the caller's object, maybe shared by many calls: it is wrapped, never marked.
  if (signal?.aborted && e === signal.reason) {
    const error = new AbortedError(
      `POST /v1/proposals was stopped by its signal (${reasonOf(signal.reason)}): a try may have reached the server; propose again with idempotencyKey to reach the same action`,
      { cause: signal.reason },
    );
    error.idempotencyKey = idempotencyKey;
    error.correlationId = correlationId;
    return error;
  }
  if (e instanceof CountersignError) {
    e.idempotencyKey = idempotencyKey;
    e.correlationId ??= correlationId;
  }
  return e;
}

const reasonOf = (reason: unknown): string =>
  (typeof reason === 'object' && reason !== null && 'name' in reason ? `${String(reason.name)}: ${String((reason as Error).message)}` : String(reason)).slice(
    0,
    200,
  );

/**
 * What a wait goes on through: the action not known yet ("no action …"; a 404 of another text is no such route, not
 * Countersign), the server away (no connection, 502/503/504 after a call's retries), over the rate (429), or failing
 * (a server's own 5xx). Not a refused certificate, nor an answer that is not Countersign's: neither passes.
 */
function waitsThrough(e: unknown): boolean {
  if (e instanceof NotFoundError) return e.message.startsWith('no action ');
  if (e instanceof CertificateError || e instanceof UnexpectedAnswerError) return false;
  if (e instanceof UnavailableError || e instanceof RateLimitedError) return true;
  return e instanceof CountersignError && e.httpStatus !== undefined && e.httpStatus >= 500;
}

const retryAfterMs = (e: unknown): number => ((e as { retryAfterSeconds?: number }).retryAfterSeconds ?? 0) * 1000;

/** TLS codes (OpenSSL's and Node's) of a certificate refused: no retry mends one. */
const CERTIFICATE_CODE =
  /^(CERT_|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_DECRYPT_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED)/;

const codeOf = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

/**
 * `e` marked with the action it is about (and the correlation id of a call that sent one of its own, where no answer gave
 * one): an error of `status` or `awaitDecision` names the action, as the README says every error does (first-user
 * pass, 2026-12-07: a 404 and a timeout named neither). Anything but a `CountersignError` (an abort's reason) is as it was.
 */
function aboutAction<E>(e: E, actionId: string, correlationId?: string): E {
  if (e instanceof CountersignError) {
    e.actionId ??= actionId;
    if (correlationId !== undefined) e.correlationId ??= correlationId;
  }
  return e;
}

/** The error of a wait that ran out; on an unknown outcome it says the outcome is being settled (a caller must not retry). */
function timeoutOf(actionId: string, waitFor: 'decision' | 'final', timeoutMs: number, last: ActionView | undefined): DecisionTimeoutError {
  const settling =
    last?.status === 'outcome_unknown'
      ? ': its outcome is unknown and the executor is settling it (executed or failed); do not propose it again, the first call may have taken effect'
      : '';
  return new DecisionTimeoutError(`action ${actionId} not ${waitFor === 'decision' ? 'decided' : 'final'} within ${timeoutMs} ms${settling}`, last);
}

/** Statuses that say the server is away for now, not that the request was wrong: retried with backoff. */
const GATEWAY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/**
 * A duration or count option: a finite number, at least 0 (a fractional one is rounded up where it must be whole), at
 * most `max`. A duration that feeds a timer is at most 2^31 - 1 ms: Node fires a longer one after 1 ms (a 30-day
 * `requestTimeoutMs` aborted every try at once), so it is refused, naming the option and the maximum.
 */
function atLeastZero(name: string, value: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new RangeError(`CountersignClient: ${name} must be a finite number, at least 0 (got ${String(value)})`);
  if (value > max)
    throw new RangeError(
      max === MAX_TIMER_MS
        ? `CountersignClient: ${name} must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest a Node timer keeps), not ${value}`
        : `CountersignClient: ${name} must be at most ${max} (got ${value})`,
    );
  return value;
}

/** The token as the Authorization header carries it, or a TypeError that says what is wrong with it without showing it. */
function bearerToken(token: unknown): string {
  if (typeof token !== 'string') throw new TypeError(`CountersignClient: token must be a string, not ${token === null ? 'null' : typeof token}`);
  // Surrounding whitespace (a token file's last line break) is what fetch strips from a header value anyway.
  const trimmed = token.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  if (!trimmed) throw new TypeError('CountersignClient: token is empty');
  // fetch refused the rest with a message that quoted the whole header, which the client then retried and reported
  // as a lost connection, token and all (red team, 2026-12-06): refused here, by position and kind, never by value.
  const at = trimmed.search(/[^\x21-\x7e]/);
  if (at >= 0)
    throw new TypeError(
      `CountersignClient: token has ${characterKind(trimmed.charCodeAt(at))} at character ${at + 1} of ${trimmed.length}; a bearer token is printable ASCII without spaces (the token is not shown)`,
    );
  return trimmed;
}

function characterKind(code: number): string {
  if (code === 0xfeff) return 'a byte-order mark (from the file it was read from?)';
  if (code === 0x20) return 'a space';
  if (code < 0x20 || code === 0x7f) return 'a control character (a line break, a tab)';
  return 'a character outside ASCII';
}

/** The server's rule for an Idempotency-Key (apps/orchestrator's proposals controller): checked before sending. */
const IDEMPOTENCY_KEY = /^[\w.:-]{1,200}$/;

function checkIdempotencyKey(key: unknown): void {
  if (typeof key === 'string' && IDEMPOTENCY_KEY.test(key)) return;
  const what = typeof key === 'string' ? `${key.length} characters` : typeof key;
  throw new TypeError(
    `propose: idempotencyKey must be 1-200 characters of letters, digits, ".", ":", "_" or "-" (the server's rule), and the one given is not (${what}; not shown); nothing was sent`,
  );
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every status the API answers (`ActionStatus`); any other is not Countersign's answer. */
const STATUSES: ReadonlySet<string> = new Set<ActionStatus>([
  'proposed',
  'autonomous',
  'in_review',
  'prohibited',
  'approved',
  'rejected',
  'expired',
  'revised',
  'held',
  'executed',
  'failed',
  'outcome_unknown',
  'refused',
]);
const isStatus = (v: unknown): v is ActionStatus => typeof v === 'string' && STATUSES.has(v);
/** An action id as the orchestrator makes them: a plain identifier, never a path. */
const ACTION_ID = /^(?!\.{1,2}$)[A-Za-z0-9._:-]{1,200}$/;

/**
 * The view of action `actionId` as the API answers it, or `UnexpectedAnswerError`: an answer about another action, with
 * a status the API never gives, or without its timeline is not Countersign's, and is never taken for a decision.
 */
function viewOf(answer: Answer, actionId: string): ActionView {
  const what = 'GET /v1/actions/{id}';
  const json = answer.body;
  if (!isObject(json) || !isStatus(json.status) || !Array.isArray(json.timeline) || !json.timeline.every((e) => isObject(e) && isStatus(e.status)))
    throw answered(new UnexpectedAnswerError(502, `${what} answered a success that is not an action's view: not Countersign's answer`), answer);
  if (json.actionId !== actionId)
    throw answered(new UnexpectedAnswerError(502, `${what} answered about another action than ${actionId}: not Countersign's answer`), answer);
  return json as unknown as ActionView;
}

/**
 * This machine, as a URL's host names it: a literal IPv4 address in 127.0.0.0/8 (the URL parser has already made
 * `127.1` or `0x7f.0.0.1` one), `[::1]`, or exactly `localhost`. A DNS name that merely starts with "127." is anyone's
 * (`127.0.0.1.nip.io`). `localhost` stays (the embedded mode and sidecars use it); it is resolved by this machine's
 * own configuration (its hosts file), and `localhost.`, with its dot, is a DNS name and is not it.
 */
function isLoopback(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  return isIPv4(hostname) && hostname.startsWith('127.');
}

/** Why `baseUrl` cannot carry the token as asked: not a URL, not HTTP(S), or plain HTTP off this machine or with `tls`. */
function baseUrlProblem(baseUrl: string, options: CountersignClientOptions): string | undefined {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return 'baseUrl is not a URL (it is not shown: it may carry a password)';
  }
  // Credentials in the URL would go to the server as Basic auth beside the token, and into every message that quotes it.
  if (url.username || url.password) return 'baseUrl has a user name or password in it (not shown): give the token as `token`, and keep the URL without them';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol !== 'http:') return `baseUrl must be https: (or http: on this machine), not ${url.protocol}`;
  if (options.tls) return 'tls is for an https: baseUrl; with http: the token would go in clear and the CA would not be used';
  if (!isLoopback(url.hostname) && !options.insecureHttp)
    return `http: to ${url.hostname} would send the token in clear: use https: (tls: { ca }), or set insecureHttp: true`;
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The server's own message (Nest answers `{statusCode, message, error}`; a message may be a list). A body that is not
 * JSON is not Countersign's: it is described, never quoted, as a proxy may echo the request (a card number from the
 * proposal ended up in an error's message: red team, 2026-12-06).
 */
function messageOf(json: unknown, read: { text: string; bytes: number }, res: Response): string {
  const message = isObject(json) ? json.message : undefined;
  if (typeof message === 'string' && message) return clip(message);
  if (Array.isArray(message) && message.length > 0 && message.every((m) => typeof m === 'string')) return clip(message.join('; '));
  if (json !== undefined) return `HTTP ${res.status}, with a JSON body that has no message`;
  if (read.bytes === 0) return `HTTP ${res.status}, without a body`;
  const type = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  const shown = /^[a-z0-9.+-]{1,60}\/[a-z0-9.+-]{1,60}$/.test(type) ? type : 'untyped';
  return `HTTP ${res.status}, with a ${shown} body of ${read.bytes} bytes that is not Countersign's JSON (not shown: it may echo the request)`;
}

const clip = (text: string): string => (text.length > 500 ? `${text.slice(0, 500)}…` : text);

/**
 * The answer's body as text, read up to `limit` bytes, or undefined past it (reading stops and the connection is let
 * go): `res.text()` read whatever came, and a hostile server streamed 900 MB into an agent (red team, 2026-12-06).
 * A declared length over the limit is refused before reading. A read that breaks off throws (a lost connection).
 */
async function readCapped(res: Response, limit: number): Promise<{ text: string; bytes: number } | undefined> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    void res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!res.body) return { text: '', bytes: 0 };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > limit) {
      void reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), bytes };
}

/** A pause that ends early, rejecting with the signal's reason, when the signal aborts. Any length (see `after`). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.clear();
      reject(signal!.reason);
    };
    const timer = after(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls `fn` after `ms`, in steps a Node timer keeps: one `setTimeout` past 2^31 - 1 ms fires after 1 ms instead (a
 * 25-day `awaitDecision` ended after 20 ms, red team 2026-12-06).
 */
function after(ms: number, fn: () => void): { clear(): void } {
  const end = Date.now() + ms;
  let timer: ReturnType<typeof setTimeout>;
  const arm = () => {
    const left = end - Date.now();
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, Math.max(0, left));
  };
  arm();
  return { clear: () => clearTimeout(timer) };
}
