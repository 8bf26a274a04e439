import { BadRequestException, CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { Observable } from 'rxjs';
import { ROUTE_DOC, RouteDoc } from './openapi/route-doc';

/**
 * The query parameters a route reads, from its code: each `@Query('name')`, and the names its `RouteDoc.query`
 * declares (a whole-object `@Query()` reads those). Undefined when the route reads a query the platform does not check
 * (`RouteDoc.openQuery`, e.g. an OpenID Connect redirect, whose parameters the client library checks), or reads a
 * whole-object `@Query()` it does not declare.
 */
export function queryParamsOf(controller: object, handler: (...args: unknown[]) => unknown): ReadonlySet<string> | undefined {
  const doc = Reflect.getMetadata(ROUTE_DOC, handler) as RouteDoc | undefined;
  if (doc?.openQuery) return undefined;
  const args = Object.entries((Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) ?? {}) as Record<string, { data?: unknown }>);
  const queries = args.filter(([key]) => Number(key.split(':')[0]) === RouteParamtypes.QUERY).map(([, a]) => a.data);
  const named = queries.filter((d): d is string => typeof d === 'string');
  if (queries.length > named.length && !doc?.query) return undefined;
  return new Set([...named, ...Object.keys(doc?.query ?? {})]);
}

/** A parameter name as a message shows it: a plain name as sent, anything else not echoed (it may carry data). */
const shownName = (name: string) => (/^[A-Za-z][A-Za-z0-9_.-]{0,40}(\[\])?$/.test(name) ? `\`${name}\`` : '(its name is not shown: not a plain name)');

/**
 * Refuses, with a 400 the rejection filter audits, a query the route would not read as sent: a parameter it does not
 * know (`status=…` on a list that has no filter, `waitFor[]=…` for `waitFor`), or one given more than once. Without
 * this a misspelt filter answers as if none were asked for, and a client waiting for a decision is answered at once.
 * Runs after the guards, so an unauthenticated caller still gets its 401 first.
 */
@Injectable()
export class QueryParamsInterceptor implements NestInterceptor {
  private readonly known = new WeakMap<object, ReadonlySet<string> | null>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const query = context.switchToHttp().getRequest<{ query?: Record<string, unknown> }>().query ?? {};
    const names = Object.keys(query);
    if (!names.length) return next.handle();
    const handler = context.getHandler() as (...args: unknown[]) => unknown;
    let allowed = this.known.get(handler);
    if (allowed === undefined) {
      allowed = queryParamsOf(context.getClass(), handler) ?? null;
      this.known.set(handler, allowed);
    }
    if (!allowed) return next.handle();
    for (const name of names) {
      if (!allowed.has(name)) {
        const reads = allowed.size ? `it reads ${[...allowed].map((n) => `\`${n}\``).join(', ')}` : 'it reads none';
        throw new BadRequestException(`unknown query parameter ${shownName(name)} for this route (${reads})`);
      }
      if (typeof query[name] !== 'string') throw new BadRequestException(`query parameter \`${name}\` given more than once`);
    }
    return next.handle();
  }
}

/**
 * A query parameter that is a whole number, as typed: decimal digits only (`1e3`, `0x10`, `-5`, ` 7`, an empty value are
 * not), from `min` to `max`; `fallback` when it is absent. Anything else is a 400 naming the parameter and the range.
 */
export function integerQuery(name: string, value: string | undefined, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
  if (value === undefined) return fallback;
  const n = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new BadRequestException(`${name}: must be an integer from ${min} to ${max} in decimal digits`);
  return n;
}
