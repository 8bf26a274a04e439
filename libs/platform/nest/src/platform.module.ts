import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import {
  ArgumentsHost,
  BadRequestException,
  Catch,
  Controller,
  DynamicModule,
  ExceptionFilter,
  Get,
  Global,
  Header,
  HttpException,
  Inject,
  Injectable,
  MiddlewareConsumer,
  Module,
  NestMiddleware,
  NestModule,
  NotFoundException,
  OnModuleDestroy,
  ServiceUnavailableException,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { EventBus, isDependencyFailure, StoreDamagedError } from '@countersign/bus';
import { Actor, derivedEventId, newId, TOPICS, TopicMap } from '@countersign/contracts';
import { Logger, withLogContext } from '@countersign/logging';
import { findRegulatedData, maskText } from '@countersign/guardrails';
import { createMetrics, Metrics } from '@countersign/metrics';
import { AuthenticatedRequest, AuthGuard, bearerToken, Principal, Roles, TOKEN_REGISTRY, TokenRegistry } from './auth';
import { carriesBody, JsonBodyInterceptor, readsBody } from './body';
import { continueWhenBodyIsRead } from './expect-continue';
import {
  connectionBudget,
  DEFAULT_CONNECTIONS_PER_SOURCE,
  DEFAULT_READ_RATE,
  limitConnectionsPerSource,
  openFilesLimit,
  ReadLimits,
} from '@countersign/limits';
import { READ_RATE, ReadRateGuard, ReadRateLimit } from './read-rate';
import { answeredByServer, answerHttpRefusals, recordTlsRefusals, RefusedRequest } from './http-refusals';
import { PRINCIPAL_REJECTION_BUDGET, RejectionBudget, RejectionSeen, SuppressedRejections } from './rejection-budget';
import { RoutedRequest, timeRequest } from './request-metrics';
import { traceRequest, TracedRequest, TracedResponse } from './request-span';
import { OpenApiController, OpenApiDocumentHolder } from './openapi/openapi.controller';
import { ApiRoute } from './openapi/route-doc';
import { QueryParamsInterceptor } from './query';
import { HTTPS_MIN_VERSION, HttpsFiles, readHttpsFiles, reloadHttpsFiles } from './https/https-files';

export const EVENT_BUS = Symbol.for('countersign.EventBus');
export const LOGGER = Symbol.for('countersign.Logger');
export const SERVICE_NAME = Symbol.for('countersign.ServiceName');
export const READINESS = Symbol.for('countersign.Readiness');
/** The process's `Metrics` (libs/platform/metrics): services count through it, `GET /metrics` renders it. */
export const METRICS = Symbol.for('countersign.Metrics');
/** The role a Prometheus scrape token carries: `GET /metrics` and nothing else. */
export const METRICS_ROLE = 'metrics';

/** A readiness probe: /readyz answers 503 while any of them fails, and consumers do not subscribe. */
export interface ReadinessCheck {
  name: string;
  /** True when ready; false, or a throw whose message says why, when not. */
  check(): Promise<boolean>;
  /**
   * A signal, not a gate: /readyz reports it under `signals` (`ok` or why not), but it neither makes /readyz answer 503
   * nor holds a consumer back. For what the service already fails closed on by itself, per action, and which an
   * operator should still see at a glance (the trust stack: actions wait with its reason, and the service is ready).
   */
  advisory?: boolean;
}

/** Each check's answer: `ok`, or why it is not ready; and each signal's (`advisory` checks). */
export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
  signals: Record<string, string>;
}

/** How long one readiness check may take: a dependency that does not answer is not ready. */
const CHECK_TIMEOUT_MS = 2_000;

/** Runs every check at once, each with a deadline; says which fail and why. */
export async function evaluateReadiness(checks: ReadinessCheck[]): Promise<Readiness> {
  const results = await Promise.all(
    checks.map(async (c): Promise<[string, string]> => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      });
      try {
        return [c.name, (await Promise.race([c.check(), deadline])) ? 'ok' : 'check failed'];
      } catch (e) {
        return [c.name, maskText(String((e as Error)?.message ?? e)).slice(0, 500) || 'check failed'];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const gates = results.filter((_, i) => !checks[i].advisory);
  return {
    ready: gates.every(([, r]) => r === 'ok'),
    checks: Object.fromEntries(gates),
    signals: Object.fromEntries(results.filter((_, i) => checks[i].advisory)),
  };
}

/** Seconds a client is asked to wait (`Retry-After`) when a dependency is unavailable. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * An answer that an id is not known (yet): a normal answer, not a refusal. A client polls an action right
 * after submitting it, before the view has caught up: that is no security event, so it is not audited as one.
 */
export class NotFoundAnswer extends NotFoundException {}

/**
 * The methods the router serves on the request's path, when the request was not routed only because of its method
 * (Nest's own 404 `Cannot PUT /v1/proposals`): then the answer is 405 with `Allow`, not "no such path".
 */
function notAllowedHere(exception: unknown, req: unknown): string[] | undefined {
  if (!(exception instanceof NotFoundException) || exception instanceof NotFoundAnswer) return undefined;
  const r = req as { method: string; path?: string; app?: { router?: { stack: RouterLayer[] } } };
  const stack = r.app?.router?.stack;
  if (!stack || typeof r.path !== 'string') return undefined;
  const methods = new Set<string>();
  for (const layer of stack) {
    if (!layer.route || !routePattern(layer.route.path).test(r.path)) continue;
    for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') methods.add(method.toUpperCase());
  }
  if (methods.has('GET')) methods.add('HEAD');
  return methods.size && !methods.has(r.method) ? [...methods].sort() : undefined;
}

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

const ROUTE_PATTERNS = new Map<string, RegExp>();
/** A route path (`/v1/actions/:id`) as a pattern of whole paths; read apart from the router, which keeps match state on its layers. */
function routePattern(path: string): RegExp {
  let pattern = ROUTE_PATTERNS.get(path);
  if (!pattern) {
    const source = path
      .split(/(:\w+)/)
      .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    ROUTE_PATTERNS.set(path, (pattern = new RegExp(`^${source}/?$`)));
  }
  return pattern;
}

/**
 * `tokens`: ok, or why no bearer token is taken (the tokens file became unusable while running: `watchTokensFile`).
 * Never at start, where such a file stops the boot, so it holds back no consumer.
 */
const tokensReadiness = (tokens: TokenRegistry): ReadinessCheck => ({
  name: 'tokens',
  check: async () => {
    const why = tokens.refusal();
    if (why) throw new Error(why);
    return true;
  },
});

/** What every service's process provides to its Nest modules. */
export interface Platform {
  service: string;
  bus: EventBus;
  logger: Logger;
  tokens: TokenRegistry;
  readiness?: ReadinessCheck[];
  /** The process's metrics; one is made for `service` when unset. */
  metrics?: Metrics;
  /** How fast one principal may read over HTTP (`READS_PER_SECOND`, `READ_BURST`, `READS_IN_FLIGHT`); `DEFAULT_READ_RATE` when unset. */
  readRate?: ReadLimits;
}

/**
 * Binds the correlation id (from `X-Correlation-Id`, or a new one) to every log line of a request. A header
 * that carries regulated data (a card number as correlation id) is not taken: it would travel on every event.
 * The request runs in a server span under the caller's W3C `traceparent` (request-span.ts).
 */
@Injectable()
class RequestContextMiddleware implements NestMiddleware {
  constructor(@Inject(METRICS) private readonly metrics: Metrics) {}

  use(
    req: TracedRequest & RoutedRequest & { correlationId?: string; httpVersion?: string },
    res: TracedResponse & { setHeader(k: string, v: string): void },
    next: () => void,
  ) {
    timeRequest(this.metrics, req, res);
    const header = req.headers['x-correlation-id'];
    const usable = typeof header === 'string' && /^[\w.:-]{1,200}$/.test(header) && findRegulatedData(header, { keepKeys: new Set() }).length === 0;
    const correlationId = usable ? header : randomUUID();
    req.correlationId = correlationId;
    res.setHeader('X-Correlation-Id', correlationId);
    // RFC 9112 §3.2: an HTTP/1.1 request names its host. Node's own refusal was an empty 400 no one audited; serve()
    // leaves the check to this line, so the refusal is JSON and on the record like every other.
    if (req.httpVersion === '1.1' && req.headers.host === undefined) throw new BadRequestException('an HTTP/1.1 request needs a Host header');
    traceRequest(req, res, () => withLogContext({ correlationId }, next));
  }
}

/** How often the rejections counted beyond a source's budget are audited as one summary per source. */
export const REJECTION_SUMMARY_INTERVAL_MS = 10_000;

/** Who sent a refused request, as its audit names them. */
export interface RejectedFrom {
  /** The authenticated caller, within whose budget it is audited; absent, the request is audited as anonymous, within its source's budget. */
  principal?: Principal;
  /** The address it came from (the budget's key, an IPv6 address by its /64). */
  source: string;
  correlationId?: string;
}

/**
 * Audits refused requests as `security.request.rejected.v1`: the rejection filter's refusals, and those of the HTTP
 * server itself, which no route sees (`serve()`: a malformed request, headers over the limit). Unauthenticated
 * rejections beyond their source's budget, or beyond the budget of all sources together, are audited as summaries per
 * interval (`RejectionBudget`, docs/adr/0034): a flood without a token cannot grow the append-only audit without bound.
 */
@Injectable()
export class RejectionAudit implements OnModuleDestroy {
  private readonly budget = new RejectionBudget();
  /**
   * Authenticated callers' refusals, by principal (docs/adr/0034 addendum 2026-12-05): one token that is refused 700
   * times a second (a reviewer asking for actions, an agent sending what fails validation) wrote as many audit entries.
   * Its budget is larger than a source's (`PRINCIPAL_REJECTION_BUDGET`); what it goes past is audited as a summary under that principal.
   */
  private readonly byPrincipal = new RejectionBudget(PRINCIPAL_REJECTION_BUDGET);
  private readonly principals = new Map<string, Principal>();
  private readonly summaries = setInterval(() => this.summarise(), REJECTION_SUMMARY_INTERVAL_MS).unref();

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_NAME) private readonly service: string,
  ) {}

  onModuleDestroy() {
    clearInterval(this.summaries);
    this.summarise();
  }

  /** Audits one refusal (`seen.path` as shown: masked, no query), or only counts it beyond the budget. */
  record(seen: RejectionSeen, from: RejectedFrom): void {
    const { principal } = from;
    const overBudget = principal ? !this.byPrincipal.take(this.principalKey(principal), seen) : !this.budget.take(from.source, seen);
    if (overBudget) {
      this.logger.debug({ status: seen.status, path: seen.path }, 'request rejected (counted: over the audit budget)');
      return;
    }
    this.logger.warn({ status: seen.status, path: seen.path, reason: seen.reason, principal: principal?.id }, 'request rejected');
    const actor: Actor = principal ? actorOf(principal) : ANONYMOUS;
    auditRejection(this.bus, this.logger, { service: this.service, ...seen, principal: principal?.id ?? null }, actor, from.correlationId);
  }

  /** The budget key of a principal's refusals (kept with the principal, whom its summary names as actor). */
  private principalKey(principal: Principal): string {
    const key = `principal ${principal.id}`;
    this.principals.set(key, principal);
    return key;
  }

  /** The rejections counted beyond the budgets, as audited summaries: the busiest sources (or principals) first, a few at most. */
  private summarise() {
    for (const s of this.budget.drain()) {
      const reason = summaryReason(s);
      // The address goes to the audit (the security record), not to the log.
      this.logger.warn({ count: s.count, sources: s.sources, statuses: s.statuses }, 'requests rejected beyond the audit budget');
      auditRejection(this.bus, this.logger, { service: this.service, ...s.last, reason, principal: null }, ANONYMOUS);
    }
    for (const s of this.byPrincipal.drain()) {
      // `*`: principals past those the budget keeps apart, summed (none is named then).
      const principal = this.principals.get(s.source);
      this.logger.warn({ count: s.count, principal: principal?.id, statuses: s.statuses }, 'authenticated requests rejected beyond the audit budget');
      auditRejection(
        this.bus,
        this.logger,
        { service: this.service, ...s.last, reason: summaryReason(s, 'requests'), principal: principal?.id ?? null },
        principal ? actorOf(principal) : ANONYMOUS,
      );
    }
  }
}

/**
 * Answers every refusal as JSON with a precise message, and audits each 4xx and 503 as a
 * `security.request.rejected.v1` event (`RejectionAudit`): every rejection is on the record — except `NotFoundAnswer`,
 * a normal answer, and the readiness probe's. A dependency that is unavailable (Kafka, Redis, PostgreSQL:
 * `isDependencyFailure`) is a 503 with `Retry-After`, not a 500: the request may be sent again. An internal error (500)
 * is logged as one, and not audited: it refused nothing on purpose.
 * A refused request whose body has not all arrived has its connection closed after the answer: the rest is not taken in.
 */
@Catch()
export class RejectionFilter implements ExceptionFilter {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(TOKEN_REGISTRY) private readonly tokens: TokenRegistry,
    private readonly rejections: RejectionAudit,
  ) {}

  catch(exception: unknown, host: ArgumentsHost) {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<AuthenticatedRequest & { method: string; originalUrl: string; correlationId?: string; complete?: boolean }>();
    const res = ctx.getResponse<{ status(n: number): { json(b: unknown): void }; setHeader(k: string, v: string): void }>();
    // Answered 408 (or 400) by the HTTP server while its body was read, and audited there under this request's
    // correlation id: what fails here now (the body "ended early") was never the answer (http-refusals.ts).
    if (answeredByServer(req)) {
      this.logger.debug({ path: shownPath(req.originalUrl) }, 'request already answered by the HTTP server: not answered or audited again');
      return;
    }
    // An error's body is JSON, whatever the route's answer would have been (`@Header('Content-Type', …)` on a segment
    // export was kept on its 400: Express's json() sets the type only where none is set).
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    // Refused before its body was read, or part-way (a 401, a 413): Node would take in the rest, however long, to reuse
    // the connection. Closed instead, unless all of it had already arrived.
    if (req.complete === false) res.setHeader('Connection', 'close');
    // Damaged, not down: a retry would meet the same store, so no Retry-After; the caller is told what, the log where.
    if (exception instanceof StoreDamagedError) {
      this.logger.error({ err: exception, path: shownPath(req.originalUrl) }, 'a store was changed outside Countersign; answered 503');
      res.status(503).json({ statusCode: 503, error: httpReason(503), message: exception.publicMessage });
      this.audit(req, 503, exception.publicMessage);
      return;
    }
    if (!(exception instanceof HttpException) && isDependencyFailure(exception)) {
      this.logger.warn({ err: exception, path: shownPath(req.originalUrl) }, 'a dependency is unavailable; answered 503');
      const message = 'a dependency is unavailable; retry later';
      res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
      res.status(503).json({ statusCode: 503, error: httpReason(503), message });
      // Nothing was done, and the caller may retry: on the record as a refusal all the same (when the bus is the
      // dependency that is down, this audit fails too, and says so in the log).
      this.audit(req, 503, message);
      return;
    }
    // Express's router could not decode a path parameter (`/v1/actions/%FF`, a lone surrogate `%ED%A0%80`); Nest passes
    // its text on, `Failed to decode param '%FF'`, which masking then showed as mojibake (red team, 2026-12-05).
    if (exception instanceof BadRequestException && PARAM_DECODE_FAILURE.test(exception.message)) {
      exception = new BadRequestException('a path parameter is not valid percent-encoded UTF-8');
    }
    const allow = notAllowedHere(exception, req);
    if (allow) {
      res.setHeader('Allow', allow.join(', '));
      exception = new HttpException(`${req.method} is not allowed here (allowed: ${allow.join(', ')})`, 405);
    }
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    const body = exception instanceof HttpException ? exception.getResponse() : undefined;
    // A deliberate 503 (not ready, retry later) says why; any other 5xx is an internal error, said no further.
    const said =
      status >= 500 && status !== 503
        ? 'internal error'
        : typeof body === 'string'
          ? body
          : String((body as { message?: unknown })?.message ?? (exception as Error).message);
    // Messages may echo the request (a path, an id): regulated data in them is masked for the caller, the log and the audit.
    const message = maskRequestText(said);
    if (status === 503) {
      this.logger.warn({ path: shownPath(req.originalUrl), reason: message }, 'service unavailable');
      res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
      // A request refused for now is on the record; the readiness probe's answer (`/readyz`, not ready) is a probe's
      // answer, asked every few seconds, not a refusal.
      if (!isReadinessAnswer(body)) this.audit(req, status, message);
    } else if (status >= 500) this.logger.error({ err: exception, path: shownPath(req.originalUrl) }, 'request failed');
    else if (exception instanceof NotFoundAnswer) this.logger.debug({ path: shownPath(req.originalUrl) }, 'not found');
    else this.audit(req, status, message);
    // A rate's refusal says when to come back: `retryAfter` (whole seconds) of its body, as the header clients read.
    const retryAfter = status === 429 && body && typeof body === 'object' ? (body as { retryAfter?: unknown }).retryAfter : undefined;
    if (typeof retryAfter === 'number' && Number.isInteger(retryAfter) && retryAfter > 0) res.setHeader('Retry-After', String(retryAfter));
    const extra = status === 503 && body && typeof body === 'object' ? detail(body as Record<string, unknown>) : {};
    res.status(status).json({ statusCode: status, error: httpReason(status), message, ...extra });
  }

  private audit(
    req: AuthenticatedRequest & { method: string; originalUrl: string; correlationId?: string; ip?: string; headers?: Record<string, unknown> },
    status: number,
    reason: string,
  ) {
    const seen = { method: req.method.slice(0, 20), path: shownPath(req.originalUrl), status, reason: reason.slice(0, 2000) };
    // Refused where no guard ran (no route: a 404, a 405): a valid token still names who sent it, within its principal's budget.
    if (!req.principal) {
      const token = bearerToken(req.headers?.authorization);
      const principal = token === undefined ? undefined : this.tokens.resolve(token);
      if (principal) req.principal = principal;
    }
    this.rejections.record(seen, { principal: req.principal, source: req.ip ?? 'unknown', correlationId: req.correlationId });
  }
}

/** The router's text (the `router` package's decodeParam, a URIError Nest turns into a 400) for a path parameter it could not decode. */
const PARAM_DECODE_FAILURE = /^Failed to decode param '/;

/** The readiness probe's not-ready answer (`/readyz`): `status: 'not-ready'` beside the checks. */
const isReadinessAnswer = (body: unknown): boolean => !!body && typeof body === 'object' && (body as { status?: unknown }).status === 'not-ready';

/** Who an authenticated rejection is audited as: its principal. */
const actorOf = (principal: Principal): Actor => ({
  id: principal.id,
  kind: principal.kind,
  roles: principal.roles,
  authMethod: principal.authMethod ?? 'bearer-token',
});

/** Who an unauthenticated rejection is audited as. */
export const ANONYMOUS: Actor = { id: 'anonymous', kind: 'agent', authMethod: 'none' };

/**
 * Audits one refused request as `security.request.rejected.v1`: the one way every rejection reaches the audit (the
 * API's filter, and the sign-in pages of the embedded mode's identity provider). Never throws: a failure is logged.
 */
export function auditRejection(
  bus: EventBus,
  logger: Logger,
  data: TopicMap[typeof TOPICS.requestRejected]['data'],
  actor: Actor = ANONYMOUS,
  correlationId?: string,
): void {
  // The rejected request starts a chain of its own (its subject), under the request's correlation id; the event id is derived from it.
  const requestId = newId();
  bus
    .emit(TOPICS.requestRejected, data, {
      subject: `request:${requestId}`,
      correlationId: correlationId ?? requestId,
      id: derivedEventId(TOPICS.requestRejected, requestId),
      actor,
    })
    .catch((e) => logger.error({ err: e }, 'could not audit a rejected request'));
}

/** The reason of a summary: how many, of which statuses, from where (an address, a /64) and since when, then the last one's reason. */
export function summaryReason(s: SuppressedRejections, what = 'unauthenticated requests'): string {
  const statuses = Object.entries(s.statuses)
    .map(([status, n]) => `${status}: ${n}`)
    .join(', ');
  // `*`: sources past those kept or named, each at least one address.
  const from = s.source !== '*' ? s.source : s.sources > 1 ? `at least ${s.sources} other sources` : 'other sources';
  const head = `${s.count} more ${what} from ${from} rejected since ${s.since.toISOString()} (${statuses}), beyond the audit budget, summarised here; the last: `;
  return (head + s.last.reason).slice(0, 2000);
}

/** Text from or about a request with its regulated data masked, also where the URL percent-encodes it (`4111%201111…`). */
function maskRequestText(text: string): string {
  let decoded = text;
  if (/%[0-9a-f]{2}/i.test(text)) {
    try {
      decoded = decodeURIComponent(text);
    } catch {
      decoded = text.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    }
  }
  return shownVisibly(maskText(decoded));
}

/** Characters a reader of the log or the audit would not see as themselves: controls, format characters (bidi overrides), line separators. */
const UNSEEN = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/**
 * Text written by the sender (a path, a message quoting it) as it may be kept: each character no reader would see as
 * itself written as its code point (`\u000a`, `\u202e`), so a refused request cannot put a line break, a terminal
 * escape or a right-to-left override into the audit trail or the log (red team, 2026-12-04).
 */
function shownVisibly(text: string): string {
  return text.replace(UNSEEN, (c) => {
    const cp = c.codePointAt(0)!;
    return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
}

/** The path of a request as logs and the audit trail show it: no query string, masked, at most 500 characters. */
const shownPath = (url: string) => maskRequestText(url.split('?')[0].slice(0, 500));

/** What a deliberate 503 adds to its answer (the readiness checks), masked. */
function detail(body: Record<string, unknown>): Record<string, unknown> {
  const { statusCode: _s, error: _e, message: _m, ...rest } = body;
  return JSON.parse(maskText(JSON.stringify(rest))) as Record<string, unknown>;
}

/** The reason phrase of a status, as Node's HTTP server names it. */
const httpReason = (s: number) => STATUS_CODES[s] ?? (s >= 500 ? 'Internal Server Error' : 'Error');

/** The consumer groups of this process that wait for readiness before they subscribe (see BusConsumer). */
@Injectable()
export class ConsumerStates {
  private readonly groups = new Map<string, boolean>();

  waitingFor(group: string): void {
    this.groups.set(group, false);
  }

  subscribed(group: string): void {
    this.groups.set(group, true);
  }

  waiting(): string[] {
    return [...this.groups].filter(([, s]) => !s).map(([g]) => g);
  }

  any(): boolean {
    return this.groups.size > 0;
  }
}

@Controller()
class HealthController {
  constructor(
    @Inject(READINESS) private readonly checks: ReadinessCheck[],
    private readonly consumers: ConsumerStates,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
  ) {}

  /**
   * Liveness: the process answers, and nothing in it needs a restart to work again. The embedded bus whose store failed
   * (a full disk) takes no message until then: it answered `ok` for ever while every proposal failed (disk probe,
   * 2026-12-05), so no supervisor restarted it.
   */
  @ApiRoute({
    summary: 'Liveness: the process answers, and needs no restart',
    public: 'a health probe',
    openQuery: "a probe: whatever a load balancer's check adds is ignored",
    ok: { description: 'Alive', schema: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } } },
    errors: { 503: 'broken until restarted (`reason` says why): the embedded bus could not store a message' },
  })
  @Get('healthz')
  health() {
    const broken = this.bus.broken?.();
    if (broken) throw new ServiceUnavailableException({ message: `broken until restarted: ${broken}`, status: 'broken', reason: broken });
    return { status: 'ok' };
  }

  /**
   * Readiness: every dependency this service needs answers, and its consumers have subscribed. A 503 says
   * which check fails and why (`checks`: `ok` or the reason).
   */
  @ApiRoute({
    summary: 'Readiness: every dependency answers and every consumer has subscribed',
    public: 'a health probe',
    openQuery: "a probe: whatever a load balancer's check adds is ignored",
    ok: {
      description: 'Ready',
      schema: {
        type: 'object',
        required: ['status', 'checks'],
        properties: {
          status: { const: 'ready' },
          checks: { type: 'object', additionalProperties: { type: 'string' } },
          signals: {
            type: 'object',
            description: 'What the service fails closed on per action but is ready with (`trust`: the trust stack): `ok` or why not',
            additionalProperties: { type: 'string' },
          },
        },
      },
    },
    errors: { 503: 'not ready: `checks` names each failing check and why' },
  })
  @Get('readyz')
  async ready() {
    const { ready, checks, signals: signalled } = await evaluateReadiness(this.checks);
    const signals = Object.keys(signalled).length ? { signals: signalled } : {};
    const waiting = this.consumers.waiting();
    const all = {
      ...checks,
      ...(waiting.length ? { consumers: `not subscribed yet: ${waiting.join(', ')}` } : this.consumers.any() ? { consumers: 'ok' } : {}),
    };
    if (ready && !waiting.length) return { status: 'ready', checks: all, ...signals };
    const failing = Object.entries(all).filter(([, r]) => r !== 'ok');
    throw new ServiceUnavailableException({
      message: `not ready: ${failing.map(([n, r]) => `${n} (${r})`).join('; ')}`,
      status: 'not-ready',
      checks: all,
      ...signals,
    });
  }
}

/**
 * Prometheus's scrape target: the process's metrics in the text format, for a bearer token with the `metrics` role
 * (Prometheus's `authorization` scrape setting); without one, 401 and audited like any refusal.
 */
@Controller()
class MetricsController {
  constructor(@Inject(METRICS) private readonly metrics: Metrics) {}

  @ApiRoute({
    summary: 'Prometheus metrics (text format)',
    ok: { description: "The process's metrics", contentType: 'text/plain; version=0.0.4' },
    unavailable: false,
  })
  @Get('metrics')
  @Roles(METRICS_ROLE)
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  render(): Promise<string> {
    return this.metrics.render();
  }
}

/**
 * The platform every service module builds on: the bus, the logger, authentication and roles, the
 * request context, JSON bodies with limits, audited rejections, /healthz + /readyz, and /metrics.
 */
@Global()
@Module({})
export class PlatformModule implements NestModule {
  static forRoot(platform: Platform): DynamicModule {
    return {
      module: PlatformModule,
      controllers: [HealthController, MetricsController, OpenApiController],
      providers: [
        { provide: EVENT_BUS, useValue: platform.bus },
        { provide: LOGGER, useValue: platform.logger },
        { provide: SERVICE_NAME, useValue: platform.service },
        { provide: TOKEN_REGISTRY, useValue: platform.tokens },
        {
          provide: READINESS,
          useValue: [{ name: 'bus', check: () => platform.bus.healthy() }, tokensReadiness(platform.tokens), ...(platform.readiness ?? [])],
        },
        { provide: METRICS, useValue: platform.metrics ?? createMetrics(platform.service) },
        ConsumerStates,
        OpenApiDocumentHolder,
        RejectionAudit,
        { provide: APP_GUARD, useClass: AuthGuard },
        // After the authentication guard (global guards run in this order): it counts the principals that guard named.
        { provide: READ_RATE, useValue: new ReadRateLimit(platform.readRate ?? DEFAULT_READ_RATE) },
        { provide: APP_GUARD, useClass: ReadRateGuard },
        { provide: APP_FILTER, useClass: RejectionFilter },
        // Interceptors run after every guard, in this order: the query is checked before the body is read.
        { provide: APP_INTERCEPTOR, useClass: QueryParamsInterceptor },
        { provide: APP_INTERCEPTOR, useClass: JsonBodyInterceptor },
      ],
      exports: [EVENT_BUS, LOGGER, SERVICE_NAME, TOKEN_REGISTRY, READINESS, METRICS, ConsumerStates, READ_RATE],
    };
  }

  configure(consumer: MiddlewareConsumer) {
    // No body is read here: a middleware runs before the guards (JsonBodyInterceptor reads it after them).
    consumer.apply(RequestContextMiddleware).forRoutes('{*path}');
  }
}

/** How long an idle HTTP connection is kept open (the usual choice behind a load balancer that keeps its own for 60 s). */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/**
 * How long one request may take to arrive in full, head and body (then 408, audited once: http-refusals.ts). Node's
 * 300 s let a body that stalled mid-way hold its connection for five minutes (red team, 2026-12-05). It is not below
 * the headers timeout (Node refuses that pairing at construction): 70 s, past the 66 s the head may take.
 */
export const REQUEST_TIMEOUT_MS = 70_000;

export interface ServeOptions {
  host: string;
  port: number;
  /** HTTPS with this certificate chain and key (PEM files; TLS 1.2+), reloaded when they change; plain HTTP without. */
  tls?: HttpsFiles;
  /** Connections one source may hold open at once (default `DEFAULT_CONNECTIONS_PER_SOURCE`). */
  connectionsPerSource?: number;
  /** How long one request may take to arrive in full (default `REQUEST_TIMEOUT_MS`; tests shorten it). */
  requestTimeoutMs?: number;
}

/** Starts a Nest HTTP(S) app for `root` on host:port, with JSON logs and graceful shutdown. */
/** How long a stop lets the answers in flight finish before it closes their connections. */
const CLOSE_GRACE_MS = 5_000;

export async function serve(root: unknown, logger: Logger, options: ServeOptions) {
  const { NestFactory } = await import('@nestjs/core');
  const { PinoNestLogger } = await import('./nest-logger');
  const pair = options.tls && readHttpsFiles(options.tls);
  // Passed to Node's https.createServer as they are (Nest's type lists fewer of its options than it passes on).
  const httpsOptions = pair && { ...pair, minVersion: HTTPS_MIN_VERSION };
  const app = await NestFactory.create(root as never, { bodyParser: false, logger: new PinoNestLogger(logger), ...(httpsOptions && { httpsOptions }) });
  // No `enableShutdownHooks()`: each main handles SIGINT and SIGTERM itself and closes the app once, in its order (the
  // consumers drain while the app still serves). Nest's own listener ran the same hooks a second time, concurrently,
  // and then raised the signal again, which the main took for a second signal (red team, 2026-12-04).
  // Every answer says what it is, and nothing says what serves it.
  const express = app.getHttpAdapter().getInstance() as {
    disable(setting: string): void;
    use(fn: (req: IncomingMessage, res: ServerResponse, next: () => void) => void): void;
  };
  express.disable('x-powered-by');
  // Once the server is closing, every answer ends its connection: a client polling on a keep-alive connection that was
  // busy when the stop began was answered on it without end, and the stop never finished (red team, 2026-12-04).
  let closing = false;
  express.use((req, res, next) => {
    // The defaults of an API that serves no page (OWASP's REST headers): nothing runs or loads from an answer, none is
    // framed, kept in a cache or named to another site. The inbox's pages and assets set their own (securityHeaders).
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    // A GET or HEAD reads no body (JsonBodyInterceptor): one sent anyway is not taken in to keep the connection, however
    // long it is (red team, 2026-12-04: 50 MB to /healthz, drained, and the connection kept).
    if (closing || (!readsBody(req.method) && carriesBody(req))) res.setHeader('Connection', 'close');
    // An answer begun before the stop and finished after it ends its connection too (the socket taken now: the answer
    // lets go of it as it finishes).
    const socket = res.socket;
    res.once('finish', () => {
      if (closing) socket?.destroySoon();
    });
    next();
  });
  // The OpenAPI document of the app's routes (docs/adr/0023); a failure to build it stops nothing but the document.
  const { publishOpenApi } = await import('./openapi/document');
  try {
    publishOpenApi(app);
  } catch (e) {
    logger.error({ err: e }, 'the OpenAPI document could not be built; GET /openapi.json answers 503');
  }
  // What Node's HTTP server refuses on its own (a malformed request, headers over the limit, an Expect it does not do,
  // no Host) is answered as JSON and audited like every refusal (http-refusals.ts; no Host: RequestContextMiddleware).
  const rejections = app.get(RejectionAudit, { strict: false });
  const httpServer = app.getHttpServer() as Server & { requireHostHeader?: boolean };
  httpServer.requireHostHeader = false;
  const recordRefusal = (r: RefusedRequest) =>
    rejections.record(
      { method: (r.method ?? '').slice(0, 20), path: r.url === undefined ? '' : shownPath(r.url), status: r.status, reason: r.message },
      { source: r.source, principal: r.principal, correlationId: r.correlationId },
    );
  answerHttpRefusals(httpServer, logger, recordRefusal);
  // Within the process's descriptors: connections beyond the budget are closed unread, so its own files stay writable.
  const budget = connectionBudget(openFilesLimit(), options.connectionsPerSource ?? DEFAULT_CONNECTIONS_PER_SOURCE);
  if (budget.total !== undefined) httpServer.maxConnections = budget.total;
  limitConnectionsPerSource(httpServer, budget.perSource, logger, recordRefusal);
  // Over HTTPS, a handshake the server refuses (an old TLS version, plain HTTP, a malformed hello) is on the record too.
  if (options.tls) recordTlsRefusals(httpServer, logger, recordRefusal);
  // `Expect: 100-continue` is answered 100 by the body reader, after the guards, not by Node as the request arrives.
  continueWhenBodyIsRead(httpServer);
  // Node checks its timeouts every `connectionsCheckingInterval` (30 s by default, read when it starts listening): a
  // quarter of the request timeout, at most 5 s, so a stalled request is answered close to its deadline, not 30 s past it.
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  (httpServer as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(10, Math.min(5_000, Math.floor(requestTimeout / 4)));
  await app.listen(options.port, options.host);
  const server = app.getHttpServer();
  // Idle keep-alive connections live longer than clients' own pools keep them (undici: 4 s), and long enough that a
  // stalled event loop does not close a connection under a request already sent on it ("other side closed"): with
  // Node's 5 s, a loaded machine raced its keep-alive timer against the next request. Closing the app still closes
  // idle connections at once.
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = Math.min(KEEP_ALIVE_TIMEOUT_MS + 1_000, requestTimeout);
  server.requestTimeout = requestTimeout;
  // Closing: new connections are refused and idle ones closed (Node); busy ones close after their answer (above), and
  // whatever is still open after a grace is closed, so a stop always ends.
  const close = server.close.bind(server);
  server.close = ((callback?: (err?: Error) => void) => {
    closing = true;
    setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
    return close(callback);
  }) as typeof server.close;
  if (options.tls && pair) reloadHttpsFiles(server, options.tls, logger, pair);
  const address = server.address() as { port: number };
  return { app, port: address.port, scheme: options.tls ? ('https' as const) : ('http' as const) };
}
