import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import {
  ArgumentsHost,
  Catch,
  Controller,
  DynamicModule,
  ExceptionFilter,
  Get,
  Global,
  HttpException,
  Inject,
  Injectable,
  MiddlewareConsumer,
  Module,
  NestMiddleware,
  NestModule,
  ServiceUnavailableException,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { EventBus } from '@countersign/bus';
import { Actor, derivedEventId, newId, TOPICS } from '@countersign/contracts';
import { Logger, withLogContext } from '@countersign/logging';
import { findRegulatedData, maskText } from '@countersign/guardrails';
import { AuthenticatedRequest, AuthGuard, TOKEN_REGISTRY, TokenRegistry } from './auth';
import { JsonBodyMiddleware } from './body';

export const EVENT_BUS = Symbol.for('countersign.EventBus');
export const LOGGER = Symbol.for('countersign.Logger');
export const SERVICE_NAME = Symbol.for('countersign.ServiceName');
export const READINESS = Symbol.for('countersign.Readiness');

/** A readiness probe: /readyz answers 503 while any of them is false. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean>;
}

/** What every service's process provides to its Nest modules. */
export interface Platform {
  service: string;
  bus: EventBus;
  logger: Logger;
  tokens: TokenRegistry;
  readiness?: ReadinessCheck[];
}

/**
 * Binds the correlation id (from `X-Correlation-Id`, or a new one) to every log line of a request. A header
 * that carries regulated data (a card number as correlation id) is not taken: it would travel on every event.
 */
@Injectable()
class RequestContextMiddleware implements NestMiddleware {
  use(req: { headers: Record<string, unknown>; correlationId?: string }, res: { setHeader(k: string, v: string): void }, next: () => void) {
    const header = req.headers['x-correlation-id'];
    const usable = typeof header === 'string' && /^[\w.:-]{1,200}$/.test(header) && findRegulatedData(header, { keepKeys: new Set() }).length === 0;
    const correlationId = usable ? header : randomUUID();
    req.correlationId = correlationId;
    res.setHeader('X-Correlation-Id', correlationId);
    withLogContext({ correlationId }, next);
  }
}

/**
 * Answers every refusal as JSON with a precise message, and audits each 4xx as a
 * `security.request.rejected.v1` event: every rejection is on the record.
 */
@Catch()
export class RejectionFilter implements ExceptionFilter {
  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_NAME) private readonly service: string,
  ) {}

  catch(exception: unknown, host: ArgumentsHost) {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<AuthenticatedRequest & { method: string; originalUrl: string; correlationId?: string }>();
    const res = ctx.getResponse<{ status(n: number): { json(b: unknown): void } }>();
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    const body = exception instanceof HttpException ? exception.getResponse() : undefined;
    // Messages may echo the request (a path, an id): regulated data in them is masked for the caller, the log and the audit.
    const message = maskRequestText(
      status >= 500 ? 'internal error' : typeof body === 'string' ? body : String((body as { message?: unknown })?.message ?? (exception as Error).message),
    );
    if (status >= 500) this.logger.error({ err: exception, path: shownPath(req.originalUrl) }, 'request failed');
    else this.audit(req, status, message);
    res.status(status).json({ statusCode: status, error: httpReason(status), message });
  }

  private audit(req: AuthenticatedRequest & { method: string; originalUrl: string; correlationId?: string }, status: number, reason: string) {
    // The rejected request starts a chain of its own (its subject), under the request's correlation id; the event id is derived from it.
    const requestId = newId();
    const path = shownPath(req.originalUrl);
    this.logger.warn({ status, path, reason, principal: req.principal?.id }, 'request rejected');
    const actor: Actor = req.principal
      ? { id: req.principal.id, kind: req.principal.kind, roles: req.principal.roles, authMethod: 'bearer-token' }
      : { id: 'anonymous', kind: 'agent', authMethod: 'none' };
    const data = { service: this.service, method: req.method, path, status, reason: reason.slice(0, 2000), principal: req.principal?.id ?? null };
    this.bus
      .emit(TOPICS.requestRejected, data, {
        subject: `request:${requestId}`,
        correlationId: req.correlationId ?? requestId,
        id: derivedEventId(TOPICS.requestRejected, requestId),
        actor,
      })
      .catch((e) => this.logger.error({ err: e }, 'could not audit a rejected request'));
  }
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
  return maskText(decoded);
}

/** The path of a request as logs and the audit trail show it: no query string, masked, at most 500 characters. */
const shownPath = (url: string) => maskRequestText(url.split('?')[0].slice(0, 500));

/** The reason phrase of a status, as Node's HTTP server names it. */
const httpReason = (s: number) => STATUS_CODES[s] ?? (s >= 500 ? 'Internal Server Error' : 'Error');

@Controller()
class HealthController {
  constructor(@Inject(READINESS) private readonly checks: ReadinessCheck[]) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  health() {
    return { status: 'ok' };
  }

  /** Readiness: every dependency this service needs answers. */
  @Get('readyz')
  async ready() {
    const results = await Promise.all(this.checks.map(async (c) => [c.name, await c.check().catch(() => false)] as const));
    const body = { status: results.every(([, ok]) => ok) ? 'ready' : 'not-ready', checks: Object.fromEntries(results) };
    if (body.status !== 'ready') throw new ServiceUnavailableException(body);
    return body;
  }
}

/**
 * The platform every service module builds on: the bus, the logger, authentication and roles, the
 * request context, JSON bodies with limits, audited rejections, and /healthz + /readyz.
 */
@Global()
@Module({})
export class PlatformModule implements NestModule {
  static forRoot(platform: Platform): DynamicModule {
    return {
      module: PlatformModule,
      controllers: [HealthController],
      providers: [
        { provide: EVENT_BUS, useValue: platform.bus },
        { provide: LOGGER, useValue: platform.logger },
        { provide: SERVICE_NAME, useValue: platform.service },
        { provide: TOKEN_REGISTRY, useValue: platform.tokens },
        { provide: READINESS, useValue: [{ name: 'bus', check: () => platform.bus.healthy() }, ...(platform.readiness ?? [])] },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: RejectionFilter },
      ],
      exports: [EVENT_BUS, LOGGER, SERVICE_NAME, TOKEN_REGISTRY, READINESS],
    };
  }

  configure(consumer: MiddlewareConsumer) {
    consumer.apply(RequestContextMiddleware, JsonBodyMiddleware).forRoutes('{*path}');
  }
}

export interface ServeOptions {
  host: string;
  port: number;
}

/** Starts a Nest HTTP app for `root` on host:port, with JSON logs and graceful shutdown. */
export async function serve(root: unknown, logger: Logger, options: ServeOptions) {
  const { NestFactory } = await import('@nestjs/core');
  const { PinoNestLogger } = await import('./nest-logger');
  const app = await NestFactory.create(root as never, { bodyParser: false, logger: new PinoNestLogger(logger) });
  app.enableShutdownHooks();
  await app.listen(options.port, options.host);
  const address = app.getHttpServer().address() as { port: number };
  return { app, port: address.port };
}
