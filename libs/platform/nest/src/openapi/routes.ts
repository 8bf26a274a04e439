import type { INestApplication } from '@nestjs/common';
import type { OpenApiDocument } from './document';

/** A route as the HTTP server routes it: `GET /v1/actions/{id}` (Express `:id` written the OpenAPI way). */
export interface ServedRoute {
  method: string;
  path: string;
}

/**
 * The routes the app's HTTP server really routes (Express's router, filled by `app.init()`), not what the document
 * generator thinks it scanned: the coverage test holds the document against these.
 */
export function servedRoutes(app: INestApplication): ServedRoute[] {
  const express = app.getHttpAdapter().getInstance() as { router?: { stack: Layer[] }; _router?: { stack: Layer[] } };
  const stack = (express.router ?? express._router)?.stack;
  if (!stack) throw new Error('no Express router: call app.init() first');
  const routes = new Map<string, ServedRoute>();
  for (const layer of stack) {
    if (!layer.route) continue;
    for (const [method, on] of Object.entries(layer.route.methods)) {
      if (!on || method === '_all') continue;
      const path = layer.route.path.replace(/:(\w+)/g, '{$1}');
      routes.set(`${method.toUpperCase()} ${path}`, { method: method.toUpperCase(), path });
    }
  }
  return [...routes.values()];
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** Routes that answer no refusal by construction: the liveness probe and fixed static files. */
export interface CoverageOptions {
  /** `GET /healthz` → why it has no 4xx answer. */
  noRefusals?: Record<string, string>;
}

/**
 * What the document misses of the served routes: a route absent from it, without a summary (no `@ApiRoute`),
 * without a successful answer, without the refusals it can answer (a 4xx; a token route: 401), or without a
 * security requirement nor a stated reason to need none. Empty when the document covers every route.
 */
export function coverageGaps(routes: ServedRoute[], doc: OpenApiDocument, options: CoverageOptions = {}): string[] {
  const gaps: string[] = [];
  for (const { method, path } of routes) {
    const name = `${method} ${path}`;
    const op = doc.paths[path]?.[method.toLowerCase()];
    if (!op) {
      gaps.push(`${name}: not in the document`);
      continue;
    }
    const codes = Object.keys(op.responses ?? {});
    if (!op.summary) gaps.push(`${name}: no summary (no @ApiRoute)`);
    if (!codes.some((c) => /^[23]\d\d$/.test(c))) gaps.push(`${name}: no successful answer`);
    if (!codes.some((c) => /^4\d\d$/.test(c)) && !options.noRefusals?.[name]) gaps.push(`${name}: no 4xx answer`);
    if (op.security === undefined) gaps.push(`${name}: no security requirement`);
    else if (op.security.length === 0 && !/No authentication: (?!none declared)/.test(op.description ?? '')) gaps.push(`${name}: public without a reason`);
    else if (op.security.some((s) => 'bearer' in s) && !codes.includes('401')) gaps.push(`${name}: a token route without 401`);
  }
  return gaps;
}
