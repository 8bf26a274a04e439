import { INestApplication } from '@nestjs/common';
import { HTTP_CODE_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { z } from 'zod';
import { closeObjects } from '@countersign/contracts';
import { ANY_ROLE, requiredRoles } from '../auth';
import { IdentifierParam, routeBodyLimit } from '../body';
import { RETRY_AFTER_SECONDS, SERVICE_NAME } from '../platform.module';
import { queryParamsOf } from '../query';
import { OpenApiDocumentHolder } from './openapi.controller';
import { ResponseDoc, ROUTE_DOC, RouteDoc, SchemaSource } from './route-doc';

/** The OpenAPI version every service serves (JSON Schema 2020-12 in its schemas). */
export const OPENAPI_VERSION = '3.1.0';

/** An OpenAPI 3.1 document, as served at `/openapi.json`. */
export type OpenApiDocument = {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
} & Record<string, unknown>;

type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: unknown; description?: string }>;
  requestBody?: unknown;
  responses: Record<string, unknown>;
  security?: Array<Record<string, string[]>>;
} & Record<string, unknown>;

/** The body of every refusal (libs/platform/nest `RejectionFilter`); a not-ready 503 adds `status` and `checks`. */
export const ERROR_BODY_SCHEMA = {
  type: 'object',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer', minimum: 400, maximum: 599 },
    error: { type: 'string', description: 'The reason phrase of the status (`Bad Request`).' },
    message: { type: 'string', description: 'What was refused and why; regulated data in it is masked.' },
    status: { type: 'string', description: 'A readiness 503 only: `not-ready`.' },
    checks: { type: 'object', additionalProperties: { type: 'string' }, description: 'A readiness 503 only: each check, `ok` or why not.' },
  },
} as const;

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const BODY_METHODS = new Set(['post', 'put', 'patch']);

/** JSON Schema of a zod schema (its input side: what a client sends) or a JSON Schema as given. */
export function jsonSchemaOf(source: SchemaSource): Record<string, unknown> {
  if (!(source instanceof z.ZodType)) return source;
  const { $schema: _dialect, ...schema } = z.toJSONSchema(source, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return schema;
}

/** A handler of the app, found by the operation id the document gives it. */
interface Handler {
  controller: new (...args: never[]) => unknown;
  handler: (...args: unknown[]) => unknown;
}

/** The path parameters a route checks with `IdentifierParam` (a 400 when one is no identifier). */
function identifierParams(controller: Handler['controller'], handler: Handler['handler']): IdentifierParam[] {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) ?? {}) as Record<string, { pipes?: unknown[] }>;
  return Object.values(args).flatMap((a) => (a.pipes ?? []).filter((p): p is IdentifierParam => p instanceof IdentifierParam));
}

const operationIdOf = (controller: string, method: string) => `${controller}_${method}`;

/** Every route handler of the app's controllers, by operation id (a duplicate id stops the build: ids are unique). */
function handlersOf(app: INestApplication): Map<string, Handler> {
  const handlers = new Map<string, Handler>();
  for (const module of app.get(ModulesContainer, { strict: false }).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Handler['controller'] | null;
      if (!controller?.prototype) continue;
      for (const key of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[key];
        if (key === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata('method', handler) === undefined) continue;
        const id = operationIdOf(controller.name, key);
        const known = handlers.get(id);
        if (known && known.controller !== controller) throw new Error(`two controllers named ${controller.name}: operation ids must be unique`);
        handlers.set(id, { controller, handler: handler as Handler['handler'] });
      }
    }
  }
  return handlers;
}

function response(doc: ResponseDoc): Record<string, unknown> {
  const headers =
    doc.headers &&
    Object.fromEntries(Object.entries(doc.headers).map(([n, d]) => [n, { description: d, schema: { type: n === 'Retry-After' ? 'integer' : 'string' } }]));
  const type = doc.contentType ?? 'application/json';
  return {
    description: doc.description,
    ...(headers ? { headers } : {}),
    ...(type === 'none'
      ? {}
      : { content: { [type]: { schema: doc.schema ? jsonSchemaOf(doc.schema) : type.includes('json') ? { type: 'object' } : { type: 'string' } } } }),
  };
}

const refusal = (description: string, headers?: Record<string, string>) => response({ description, schema: ERROR_REF, headers });

/** Joins the platform's reason for a status with the route's own. */
const both = (...reasons: Array<string | undefined>) => reasons.filter(Boolean).join('; ');

/**
 * Completes one operation from the route's `RouteDoc` and the platform's metadata: who may call it (`@Roles` →
 * bearer token, 401, 403), what the JSON body reader refuses on a method with a body (400, 413, 415), and 503 when a
 * dependency is away (the `RejectionFilter` answers it, with `Retry-After`, on any route that touches one).
 */
function complete(op: Operation, method: string, { controller, handler }: Handler): void {
  const doc = Reflect.getMetadata(ROUTE_DOC, handler) as RouteDoc | undefined;
  const roles = requiredRoles(handler, controller);
  const status = (Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined) ?? (method === 'post' ? 201 : 200);
  // Query parameters and headers are all optional here (each route checks what it needs); a whole-object @Query() has no name.
  op.parameters = (op.parameters ?? []).filter((p) => p.name).map((p) => (p.in === 'path' ? p : { ...p, required: false, schema: { type: 'string' } }));
  if (!doc) return; // undocumented: no summary, no refusals (the coverage test names it)
  for (const [name, description] of Object.entries(doc.query ?? {})) {
    if (!op.parameters.some((p) => p.in === 'query' && p.name === name)) op.parameters.push({ name, in: 'query', required: false, schema: { type: 'string' } });
    op.parameters.find((p) => p.in === 'query' && p.name === name)!.description = description;
  }
  if (!op.parameters.length) delete op.parameters;
  const errors = doc.errors ?? {};
  const responses: Record<string, unknown> = { [String(doc.ok.status ?? status)]: response(doc.ok) };
  for (const also of doc.also ?? []) responses[String(also.status)] = response(also);
  if (roles) {
    op.security = [{ bearer: [] }];
    responses['401'] = refusal(both('missing, unknown or revoked bearer token', errors[401]));
    if (!roles.includes(ANY_ROLE)) responses['403'] = refusal(both(`the token has none of the roles ${roles.join(', ')}`, errors[403]));
  } else if (doc.session) {
    op.security = [{ session: [] }];
  } else {
    op.security = [];
    op.description = both(op.description, `No authentication: ${doc.public ?? 'none declared'}.`);
  }
  // The platform's read limits on every read of a caller it knows: a token's (ReadRateGuard), or a signed-in person's,
  // counted by the route once it has read the session (the review queue's inbox and governance pages).
  if ((roles || doc.session) && (method === 'get' || method === 'head')) {
    const [whose, its] = roles ? ["the principal's", 'its'] : ["the signed-in person's", 'their'];
    responses['429'] = refusal(
      both(`past ${whose} read rate (\`READS_PER_SECOND\`, \`READ_BURST\`) or with \`READS_IN_FLIGHT\` of ${its} reads under way`, errors[429]),
      { 'Retry-After': 'seconds to wait before trying again' },
    );
  }
  if (BODY_METHODS.has(method)) {
    responses['400'] = refusal(both('malformed JSON body (invalid UTF-8, a duplicate key, over 32 levels)', errors[400]));
    responses['413'] = refusal(`request body over ${routeBodyLimit(handler)} bytes`);
    responses['415'] = refusal('a request body that is not application/json');
  }
  const ids = identifierParams(controller, handler).map((p) => `${p.name} over ${p.max} characters, or with control or invisible characters`);
  // The platform's query check (QueryParamsInterceptor) on every route but those with an open query.
  if (queryParamsOf(controller, handler)) ids.push('a query parameter the route does not read, or one given twice');
  if (ids.length) {
    const before = (responses['400'] as { description?: string } | undefined)?.description ?? errors[400];
    responses['400'] = refusal(both(before, ...ids));
  }
  // Every 429 of the platform says when to try again (`Retry-After`, whole seconds).
  for (const [code, description] of Object.entries(errors))
    responses[code] ??= refusal(description, code === '429' ? { 'Retry-After': 'seconds to wait before trying again' } : undefined);
  if (doc.unavailable !== false) {
    responses['503'] = refusal(both('a dependency (bus, database, flags) is unavailable: retry after `Retry-After` seconds', errors[503]), {
      'Retry-After': `seconds to wait (${RETRY_AFTER_SECONDS})`,
    });
  }
  op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
  if (doc.body) {
    // Every request body is read strictly (`parseBody`): a field it does not name is a 400, and its schema says so.
    op.requestBody = { required: !doc.bodyOptional, content: { 'application/json': { schema: closeObjects(jsonSchemaOf(doc.body)) } } };
  } else delete op.requestBody;
}

export interface OpenApiInfo {
  /** The service (`orchestrator`, `countersign-embedded`). */
  service: string;
  version?: string;
}

/**
 * The OpenAPI 3.1 document of a Nest app: `@nestjs/swagger` scans the routes and their path, query and header
 * parameters; each route's `@ApiRoute` and the platform's metadata say the rest (docs/adr/0023).
 */
export function buildOpenApiDocument(app: INestApplication, info: OpenApiInfo): OpenApiDocument {
  const config = new DocumentBuilder()
    .setOpenAPIVersion(OPENAPI_VERSION)
    .setTitle(`Countersign ${info.service}`)
    .setDescription('Generated from the routes this process serves. Every refusal has the `Error` body.')
    .setVersion(info.version ?? '1.0.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API token from AUTH_TOKENS_FILE; its roles decide the routes it may call.' }, 'bearer')
    .addCookieAuth(
      'cs_session',
      {
        type: 'apiKey',
        in: 'cookie',
        description: 'The reviewer inbox session (OpenID Connect sign-in at /auth/sign-in); named `__Host-cs_session` when the inbox is served over TLS.',
      },
      'session',
    )
    .build();
  const handlers = handlersOf(app);
  const doc = SwaggerModule.createDocument(app, config, { operationIdFactory: operationIdOf }) as unknown as OpenApiDocument;
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const handler = op.operationId && handlers.get(op.operationId);
      if (!handler) throw new Error(`no handler for ${method.toUpperCase()} ${path} (${op.operationId})`);
      complete(op, method, handler);
    }
  }
  doc.components = { ...doc.components, schemas: { ...(doc.components?.schemas ?? {}), Error: ERROR_BODY_SCHEMA } };
  // What the builder leaves empty says nothing: no contact, no servers (a client knows where it fetched the document).
  delete (doc.info as { contact?: unknown }).contact;
  if (Array.isArray(doc.servers) && !doc.servers.length) delete doc.servers;
  return doc;
}

/** Builds the app's document and hands it to `GET /openapi.json` (the platform's `serve` does, before it listens). */
export function publishOpenApi(app: INestApplication): OpenApiDocument {
  const document = buildOpenApiDocument(app, { service: app.get<string>(SERVICE_NAME, { strict: false }) });
  app.get(OpenApiDocumentHolder, { strict: false }).document = document;
  return document;
}
