import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { z } from 'zod';

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) or a zod schema the route really parses with. */
export type SchemaSource = z.ZodType | Record<string, unknown>;

/** The refusals a route may answer itself, beside those the platform adds (see `documentedResponses`). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503;

/** One answer of a route. */
export interface ResponseDoc {
  /** Defaults to the route's own status (`@HttpCode`, else 201 for POST and 200 otherwise). */
  status?: number;
  description: string;
  schema?: SchemaSource;
  /** Default `application/json`; `none` for an answer without a body (a redirect). */
  contentType?: string;
  /** Response headers by name, each with its description. */
  headers?: Record<string, string>;
}

/**
 * What a route's OpenAPI operation says beyond what the code already tells: its summary, the schema of its body
 * (the zod schema it parses with, so the two cannot part), its answer, and the refusals it answers itself.
 * Authentication (`@Roles` → bearer, 401, 403), the JSON body reader (400, 413, 415) and dependency failures (503)
 * are added from the platform's own metadata when the document is built (docs/adr/0023).
 */
export interface RouteDoc {
  summary: string;
  description?: string;
  /** The request body's schema; the route reads JSON. */
  body?: SchemaSource;
  /** Query parameters the route reads from a whole-object `@Query()`, or to describe: name → what it does. */
  query?: Record<string, string>;
  /**
   * Why the route reads a query whose names the platform does not check (every other route refuses a parameter it does
   * not read, libs/platform/nest `QueryParamsInterceptor`): e.g. an OpenID Connect redirect, which its client checks.
   */
  openQuery?: string;
  /** A body the route accepts but does not need. */
  bodyOptional?: boolean;
  ok: ResponseDoc;
  /** Other successful answers (a redirect). */
  also?: ResponseDoc[];
  /** The refusals this route answers itself, each with when. */
  errors?: Partial<Record<ErrorStatus, string>>;
  /**
   * How a route without `@Roles` authenticates: `session`, the reviewer inbox's signed-in session (cookie
   * `cs_session`); or, for a route that needs none, why (`public: 'liveness probe'`).
   */
  session?: true;
  public?: string;
  /** False for a route that touches no dependency, so never answers 503. */
  unavailable?: false;
}

/** Where `ApiRoute` keeps a route's `RouteDoc`. */
export const ROUTE_DOC = 'countersign:openapi:route';

/** Documents a route in the service's OpenAPI document (`GET /openapi.json`). */
export const ApiRoute = (doc: RouteDoc) => applyDecorators(SetMetadata(ROUTE_DOC, doc), ApiOperation({ summary: doc.summary, description: doc.description }));
