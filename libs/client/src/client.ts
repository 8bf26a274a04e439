import { randomUUID } from 'node:crypto';
import { CountersignError, DecisionTimeoutError, errorFor, NotFoundError, parseRetryAfter, UnavailableError, UnexpectedAnswerError } from './errors';
import { fetchTrusting, TlsTrust } from './tls-fetch';
import { isDecided, isFinal } from './status';
import type { ActionStatus, ActionView, Proposed, ProposalInput } from './types';

/** How to reach Countersign. */
export interface CountersignClientOptions {
  /** The orchestrator's base URL, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** The agent's bearer token. */
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
  /** How long one call (each try of it) may take before it counts as a lost connection (default 30 000 ms; long polls get their wait on top). */
  requestTimeoutMs?: number;
  /**
   * Allows a plain `http:` base URL to a host other than this machine (the token then crosses the network in clear).
   * Off by default: `http:` is for `127.0.0.1`, `::1` and `localhost` (the embedded mode, a sidecar); use `https:`.
   */
  insecureHttp?: boolean;
}

/** What `awaitDecision` waits for: a decision (the default), or a final state (executed, failed, rejected…). */
export interface AwaitOptions {
  /** The whole wait, over as many long polls as it takes. */
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

  constructor(private readonly options: CountersignClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    if (options.fetch && options.tls) throw new Error('CountersignClient: give either `fetch` or `tls`, not both (a fetch of your own sets its own trust)');
    const problem = baseUrlProblem(this.baseUrl, options);
    if (problem) throw new Error(`CountersignClient: ${problem}`);
    this.fetch = options.fetch ?? (options.tls ? fetchTrusting(options.tls) : globalThis.fetch);
    this.retries = Math.ceil(milliseconds('retries', options.retries ?? 4));
    this.backoffMs = milliseconds('backoffMs', options.backoffMs ?? 250);
    this.maxBackoffMs = milliseconds('maxBackoffMs', options.maxBackoffMs ?? 5_000);
    this.requestTimeoutMs = Math.ceil(milliseconds('requestTimeoutMs', options.requestTimeoutMs ?? 30_000));
  }

  /**
   * Proposes an action (`POST /v1/proposals`). Without an `idempotencyKey` one is made; either way every retry of this
   * call sends the same key, and the answer returns it so that a later resend (after a crash) can reuse it.
   */
  async propose(proposal: ProposalInput, options: { idempotencyKey?: string; signal?: AbortSignal } = {}): Promise<Proposed> {
    const idempotencyKey = options.idempotencyKey ?? `cs-${randomUUID()}`;
    let body: unknown;
    try {
      body = await this.request('POST', '/v1/proposals', { body: proposal, headers: { 'Idempotency-Key': idempotencyKey }, signal: options.signal });
    } catch (e) {
      // The key goes with the error: a proposal that was not answered may have arrived, and a resend under a new key
      // would make a second action (red team, 2026-12-04: two replies to one customer).
      if (e instanceof CountersignError) e.idempotencyKey = idempotencyKey;
      throw e;
    }
    if (!isObject(body) || typeof body.actionId !== 'string' || !ACTION_ID.test(body.actionId) || !isStatus(body.status))
      throw new UnexpectedAnswerError(
        502,
        "POST /v1/proposals answered a success without an action id and status: not Countersign's answer (a proxy in between?)",
      );
    return { actionId: body.actionId, status: body.status, idempotencyKey };
  }

  /** The action's current view (`GET /v1/actions/{id}`); `NotFoundError` until the read model knows it. */
  async status(actionId: string, options: { signal?: AbortSignal } = {}): Promise<ActionView> {
    return viewOf(await this.request('GET', `/v1/actions/${encodeURIComponent(actionId)}`, { signal: options.signal }), actionId);
  }

  /**
   * Waits until the action is decided (or final, with `waitFor: 'final'`) and returns its view. It loops over long
   * polls (`?waitFor=…&timeoutMs=…`, each at most 30 s), never a busy loop; an action the server does not know yet is
   * waited for too. Rejects with `DecisionTimeoutError` (carrying the last view) at `timeoutMs` (a server that does not
   * answer its last poll is given 2 s more), with the signal's
   * reason when aborted, and with a typed error on 401/403. `outcome_unknown` is not final (the executor is settling
   * it): a wait for `final` goes on through it, and a timeout on it says so; never propose such an action again.
   */
  async awaitDecision(actionId: string, options: AwaitOptions): Promise<ActionView> {
    const waitFor = options.waitFor ?? 'decision';
    const timeoutMs = Math.ceil(milliseconds('timeoutMs', options.timeoutMs));
    options = { ...options, timeoutMs };
    const deadline = Date.now() + options.timeoutMs;
    const timeUp = new AbortController();
    // The last poll is answered at the deadline, not before: its answer gets a moment to arrive before the wait is cut.
    const timer = setTimeout(() => timeUp.abort(), options.timeoutMs + DEADLINE_GRACE_MS);
    const signal = options.signal ? AbortSignal.any([options.signal, timeUp.signal]) : timeUp.signal;
    let last: ActionView | undefined;
    try {
      for (;;) {
        const pollMs = Math.max(0, Math.min(MAX_POLL_MS, deadline - Date.now()));
        const started = Date.now();
        try {
          const path = `/v1/actions/${encodeURIComponent(actionId)}?waitFor=${waitFor}&timeoutMs=${pollMs}`;
          last = viewOf(await this.request('GET', path, { signal, holdMs: pollMs }), actionId);
          if (waitFor === 'decision' ? isDecided(last.status) : isFinal(last.status)) return last;
        } catch (e) {
          // Not known yet (the read model catches up), or the server away for longer than one call's retries (a
          // restart): the wait goes on until its own deadline, as asked. A 404 that is not the API's "no action" (no such
          // route: a base URL that is not Countersign's) is an answer, not a wait.
          if (!(e instanceof NotFoundError && e.message.startsWith('no action ')) && !(e instanceof UnavailableError)) throw e;
        }
        if (Date.now() >= deadline) throw timedOut(actionId, waitFor, options.timeoutMs, last);
        if (Date.now() - started < MIN_POLL_SPACING_MS) await sleep(MIN_POLL_SPACING_MS, signal);
      }
    } catch (e) {
      if (timeUp.signal.aborted && !options.signal?.aborted && !(e instanceof DecisionTimeoutError)) {
        throw timedOut(actionId, waitFor, options.timeoutMs, last);
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * One call, retried on 503 (and a gateway's 502 or 504), on a lost connection and on a 429 whose `Retry-After` is within `maxBackoffMs` (the same
   * headers, so the same Idempotency-Key). Each try ends
   * after `requestTimeoutMs` (plus `holdMs`, a long poll's wait) as a lost connection. Redirects are not followed: the
   * API never redirects, so one is an answer from something else, and the token is not sent on to it.
   */
  private async request(
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal; holdMs?: number },
  ): Promise<unknown> {
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = { Accept: 'application/json', Authorization: `Bearer ${this.options.token}`, ...init.headers };
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    for (let attempt = 0; ; attempt++) {
      init.signal?.throwIfAborted();
      let res: Response;
      const tryTimeout = AbortSignal.timeout(this.requestTimeoutMs + (init.holdMs ?? 0));
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
        if (attempt >= this.retries) throw new UnavailableError(503, `no answer from ${method} ${path}: ${(e as Error).message}`);
        await sleep(this.backoff(attempt), init.signal);
        continue;
      }
      if (res.status >= 300 && res.status < 400) {
        void res.body?.cancel().catch(() => undefined);
        throw new UnexpectedAnswerError(
          502,
          `${method} ${path} was answered ${res.status} (a redirect${res.headers.get('location') ? ` to ${res.headers.get('location')}` : ''}): Countersign's API does not redirect, so it was not followed and the token was not sent on`,
        );
      }
      let text: string;
      try {
        text = await res.text();
      } catch (e) {
        // The connection broke while the answer was read: a lost connection, retried as one (under the same key).
        if (init.signal?.aborted) throw init.signal.reason;
        if (attempt >= this.retries) throw new UnavailableError(503, `the answer to ${method} ${path} broke off: ${(e as Error).message}`);
        await sleep(this.backoff(attempt), init.signal);
        continue;
      }
      const json = parseJson(text);
      if (res.ok) {
        if (json === undefined)
          throw new UnexpectedAnswerError(502, `${method} ${path} answered ${res.status} with a body that is not JSON: not Countersign's answer`);
        return json;
      }
      // 503 is the server's own "not now"; 502 and 504 are a proxy's or load balancer's word that the server did not
      // answer in time or at all: each is retried under the same headers, so the same Idempotency-Key.
      if (GATEWAY_STATUSES.has(res.status) && attempt < this.retries) {
        const asked = (parseRetryAfter(res.headers.get('retry-after')) ?? 0) * 1000;
        await sleep(Math.min(this.maxBackoffMs, Math.max(asked, this.backoff(attempt))), init.signal);
        continue;
      }
      // Over the principal's rate: waited out and retried (the same headers, so the same key) when the server's
      // Retry-After fits within maxBackoffMs; a longer wait is the caller's to plan (RateLimitedError says how long).
      const rateWait = res.status === 429 ? (parseRetryAfter(res.headers.get('retry-after')) ?? Infinity) * 1000 : Infinity;
      if (rateWait <= this.maxBackoffMs && attempt < this.retries) {
        // Never before the server said, never sooner than the backoff's own step, and spread a little (up to a quarter
        // more, within the cap), so that many callers told the same second do not all come back in it.
        const wait = Math.max(rateWait, this.backoff(attempt));
        await sleep(Math.min(this.maxBackoffMs, wait * (1 + Math.random() / 4)), init.signal);
        continue;
      }
      throw errorFor(res.status, messageOf(json, text, res.status), res.headers.get('retry-after'));
    }
  }

  private backoff(attempt: number): number {
    // Exponential with jitter, so that many agents cut off together do not come back together.
    return Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt) * (0.5 + Math.random() / 2);
  }
}

/** The error of a wait that ran out; on an unknown outcome it says the outcome is being settled (a caller must not retry). */
function timedOut(actionId: string, waitFor: 'decision' | 'final', timeoutMs: number, last: ActionView | undefined): DecisionTimeoutError {
  const settling =
    last?.status === 'outcome_unknown'
      ? ': its outcome is unknown and the executor is settling it (executed or failed); do not propose it again, the first call may have taken effect'
      : '';
  return new DecisionTimeoutError(`action ${actionId} not ${waitFor === 'decision' ? 'decided' : 'final'} within ${timeoutMs} ms${settling}`, last);
}

/** Statuses that say the server is away for now, not that the request was wrong: retried with backoff. */
const GATEWAY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/** A duration option: a finite number of milliseconds, at least 0 (a fractional one is rounded up where it must be whole). */
function milliseconds(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new RangeError(`CountersignClient: ${name} must be a finite number, at least 0 (got ${String(value)})`);
  return value;
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
function viewOf(json: unknown, actionId: string): ActionView {
  const what = 'GET /v1/actions/{id}';
  if (!isObject(json) || !isStatus(json.status) || !Array.isArray(json.timeline) || !json.timeline.every((e) => isObject(e) && isStatus(e.status)))
    throw new UnexpectedAnswerError(502, `${what} answered a success that is not an action's view: not Countersign's answer`);
  if (json.actionId !== actionId) throw new UnexpectedAnswerError(502, `${what} answered about another action than ${actionId}: not Countersign's answer`);
  return json as unknown as ActionView;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why `baseUrl` cannot carry the token as asked: not a URL, not HTTP(S), or plain HTTP off this machine or with `tls`. */
function baseUrlProblem(baseUrl: string, options: CountersignClientOptions): string | undefined {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return `baseUrl ${JSON.stringify(baseUrl.slice(0, 200))} is not a URL`;
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol !== 'http:') return `baseUrl must be https: (or http: on this machine), not ${url.protocol}`;
  if (options.tls) return 'tls is for an https: baseUrl; with http: the token would go in clear and the CA would not be used';
  if (!LOOPBACK.has(url.hostname) && !/^127\./.test(url.hostname) && !options.insecureHttp)
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

/** The server's own message (Nest answers `{statusCode, message, error}`; a message may be a list). */
function messageOf(json: unknown, text: string, status: number): string {
  const message = (json as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join('; ');
  return text.slice(0, 500) || `HTTP ${status}`;
}

/** A pause that ends early, rejecting with the signal's reason, when the signal aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
