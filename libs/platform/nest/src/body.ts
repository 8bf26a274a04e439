import {
  BadRequestException,
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  PayloadTooLargeException,
  PipeTransform,
  SetMetadata,
  UnauthorizedException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Observable } from 'rxjs';
import { describeIssues, IDENTIFIER_RULE, identifierString, parseKnownFields, parseStrictJson } from '@countersign/contracts';
import { z } from 'zod';
import { AuthenticatedRequest, routeAuthentication } from './auth';
import { sendContinue } from './expect-continue';
import { ROUTE_DOC, RouteDoc } from './openapi/route-doc';

export const MAX_BODY_BYTES = 64 * 1024;

const BODY_LIMIT = Symbol.for('countersign.BodyLimit');

/**
 * A route's own body limit, in bytes, in place of `MAX_BODY_BYTES`: for a route whose schema takes more (a change
 * request carries a whole contract, which its schema allows up to 1,000,000 characters, and the shipped one is already
 * 41 KB: under the global 64 KiB it would soon not fit; red team, 2026-12-05). Use it on a handler, never to go around
 * a schema: the schema's own limit still applies after the body is read.
 */
export const BodyLimit = (bytes: number): MethodDecorator => SetMetadata(BODY_LIMIT, bytes);

/** The body limit of a route handler: its `@BodyLimit`, or `MAX_BODY_BYTES`. */
export const routeBodyLimit = (handler: object): number => (Reflect.getMetadata(BODY_LIMIT, handler) as number | undefined) ?? MAX_BODY_BYTES;

/** Whether a request's body is read: a DELETE may carry one too (a reason for clearing an override); a GET's or HEAD's is not. */
export const readsBody = (method: string | undefined): boolean => method !== 'GET' && method !== 'HEAD';

/**
 * Whether a route reads a request body: it declares one, in its `ApiRoute` (`body`) or with a `@Body()` parameter. A
 * route that declares none (sign-out, a release, a heartbeat) reads none, whatever its method.
 */
export function routeReadsBody(controller: object, handler: (...args: unknown[]) => unknown): boolean {
  if ((Reflect.getMetadata(ROUTE_DOC, handler) as RouteDoc | undefined)?.body !== undefined) return true;
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) ?? {}) as Record<string, unknown>;
  return Object.keys(args).some((key) => Number(key.split(':')[0]) === RouteParamtypes.BODY);
}

/** Whether a request says a body follows its head (a length over 0, or chunks). */
export const carriesBody = (req: Pick<IncomingMessage, 'headers'>): boolean =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/**
 * Reads the JSON body of a routed request, after the guards (docs/adr/0008, amended 2026-12-04): a route that needs a
 * caller (`@Roles`, or the inbox's session) has it authenticated first, so a request without credentials is answered
 * 401 (403 for a wrong role) whatever its body, and its body is never read. A request no guard authenticated on such a
 * route is refused 401 here too (fail closed: a session route whose guard is missing reads no body). The body a refused
 * request leaves unread is not buffered: the rejection filter closes its connection unless all of it had already
 * arrived. Interceptors run after every guard, the global one and the inbox's alike: a middleware ran before them all.
 *
 * A route that declares no body (`routeReadsBody`) is answered without waiting for one: a slow body held a public
 * sign-out for up to the request timeout (red team, 2026-12-04). What is still arriving is not taken in either: the
 * answer closes the connection. A client that waits for `100 Continue` is sent it here, when the body is to be read.
 */
@Injectable()
export class JsonBodyInterceptor implements NestInterceptor {
  private readonly reads = new WeakMap<object, boolean>();

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<IncomingMessage & AuthenticatedRequest & { body?: unknown }>();
    const res = context.switchToHttp().getResponse<Pick<ServerResponse, 'setHeader'>>();
    if (!readsBody(req.method) || !this.routeReads(context)) {
      if (carriesBody(req) && !req.complete) res.setHeader('Connection', 'close');
      return next.handle();
    }
    if (routeAuthentication(context.getHandler(), context.getClass()) && !req.principal) {
      throw new UnauthorizedException('not authenticated: this route reads no request body before its caller is authenticated');
    }
    req.body = await readJsonBody(req, res, routeBodyLimit(context.getHandler()));
    return next.handle();
  }

  private routeReads(context: ExecutionContext): boolean {
    const handler = context.getHandler() as (...args: unknown[]) => unknown;
    let reads = this.reads.get(handler);
    if (reads === undefined) this.reads.set(handler, (reads = routeReadsBody(context.getClass(), handler)));
    return reads;
  }
}

/**
 * Reads a JSON body with a byte limit and precise errors (413 past the limit, 400 for bad JSON, 415 for a body that is
 * not UTF-8 JSON as sent) thrown inside Nest, so the rejection filter answers and audits them like every other refusal.
 * The body is read by the strict parser every ingress shares (libs/contracts `parseStrictJson`: valid UTF-8, no
 * duplicate keys, no `__proto__` key, at most 32 levels of nesting), never by `JSON.parse`. Undefined for no body.
 *
 * The body is read as it arrives: as UTF-8, uncompressed. A body labelled otherwise (`charset=latin1`,
 * `Content-Encoding: gzip`) is refused rather than read as something the sender did not mean.
 */
export async function readJsonBody(
  req: IncomingMessage,
  res: { setHeader(name: string, value: string): unknown },
  maxBytes = MAX_BODY_BYTES,
): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  // Refused unread; the rejection filter closes the connection rather than take in the rest.
  if (declared > maxBytes) throw new PayloadTooLargeException(`request body is ${declared} bytes, over the ${maxBytes}-byte limit`);
  // Two Content-Type headers are no type: Node keeps the first, a proxy in front may read the last, and the body would
  // be read as JSON under one and refused under the other (red team, 2026-12-05), as with two Authorization headers.
  if ((req.headersDistinct?.['content-type']?.length ?? 0) > 1) throw new BadRequestException('more than one Content-Type header: send one (application/json)');
  // Node takes apart only the chunked framing: under `gzip, chunked` the body would be read as plain JSON while a proxy
  // in front that applies the codings reads another one. Any coding but `chunked` alone is refused unread.
  const transfer = req.headers['transfer-encoding'];
  if (transfer !== undefined && transfer.trim().toLowerCase() !== 'chunked')
    throw new BadRequestException(`request body must be sent as it is or chunked: Transfer-Encoding ${shown(transfer)} is not read`);
  // `Expect: 100-continue`: the client sends its body only now (under serve(); expect-continue.ts).
  sendContinue(req);
  const bytes = await readAtMost(req, maxBytes);
  if (bytes === 'too-large') throw new PayloadTooLargeException(`request body is over the ${maxBytes}-byte limit`);
  if (bytes.length === 0) return undefined;
  const unsupported = unsupportedBody(req.headers['content-type'], req.headers['content-encoding']);
  if (unsupported) {
    // RFC 9110 §12.5.3: a 415 for a content coding says which codings would do.
    if (unsupported.coding) res.setHeader('Accept-Encoding', 'identity');
    throw new UnsupportedMediaTypeException(unsupported.message);
  }
  // A raw NUL byte is a syntax error to the parser; it gets the message an escaped one gets.
  const rawNul = bytes.indexOf(0);
  if (rawNul >= 0) throw new BadRequestException(`malformed JSON body: byte ${rawNul} is a NUL character (\\u0000), which Countersign does not store`);
  const json = parseStrictJson(bytes, { maxBytes });
  if (!json.ok) {
    if (json.problem === 'too-large') throw new PayloadTooLargeException(`request body is ${json.message}`);
    throw new BadRequestException(`malformed JSON body: ${json.message}`);
  }
  // JSON spells a NUL in a string only as the escape `\u0000`: a body without that text holds none, and is not walked.
  const nul = bytes.includes('\\u0000') ? nulCharacterAt(json.value) : undefined;
  if (nul !== undefined) throw new BadRequestException(`malformed JSON body: ${nul} contains a NUL character (\\u0000), which Countersign does not store`);
  return json.value;
}

/**
 * Where a parsed body holds U+0000 (`"\u0000"`, in a value or a key), as a JSON pointer, or undefined. PostgreSQL stores
 * no NUL in text or jsonb (22P05): a body with one was taken, then failed as a 500 where it was stored, with nothing on
 * the record (red team, 2026-12-05). Nothing Countersign takes has a use for it (proposals refuse it by schema), so every
 * body is refused it at the door, as the parser refuses a lone surrogate. Bodies are at most 32 levels deep (the parser).
 */
export function nulCharacterAt(value: unknown, pointer = ''): string | undefined {
  const shortened = (p: string) => (p.length > 200 ? `${p.slice(0, 200)}…` : p);
  if (typeof value === 'string') return value.includes('\0') ? (pointer === '' ? 'the body (a string)' : `the string at ${shortened(pointer)}`) : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  for (const [key, item] of entries) {
    const here = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (!Array.isArray(value) && key.includes('\0')) return `a key of the object at ${shortened(pointer) || '/'}`;
    const found = nulCharacterAt(item, here);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The body's bytes, or `too-large` as soon as they pass `max`: what comes after is let through unread, not kept (a
 * `for await` stopped early destroyed the request, and its socket with it, before the 413 could be answered).
 */
function readAtMost(req: IncomingMessage, max: number): Promise<Buffer | 'too-large'> {
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (then: () => void) => {
      req.off('data', onData).off('end', onEnd).off('error', onEnded).off('close', onEnded);
      then();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      settle(() => resolve('too-large'));
      // Flowing with no reader: the rest is dropped as it comes, until the answer closes the connection.
      req.resume();
    };
    const onEnd = () => settle(() => resolve(Buffer.concat(chunks, size)));
    const onEnded = () => settle(() => reject(new BadRequestException('request body ended early: the connection closed before all of it arrived')));
    req.on('data', onData).once('end', onEnd).once('error', onEnded).once('close', onEnded);
  });
}

/** `application/json` or a structured `+json` type (`application/merge-patch+json`), nothing after it but parameters. */
const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9!#$&^_.+-]*\+)?json$/i;
/** One `; name=value` parameter of a media type (RFC 9110 §5.6.6; it may be empty), the value a token or a quoted string. */
const MEDIA_TYPE_PARAMETER = /^[ \t]*;[ \t]*(?:([!#$%&'*+.^_`|~0-9a-z-]+)=("(?:[^"\\]|\\.)*"|[!#$%&'*+.^_`|~0-9a-z-]+))?[ \t]*/i;
/** A header value as a message shows it: the sender's text, so quoted, its first 100 characters, anything but printable ASCII escaped. */
const shown = (value: string) => {
  const quoted = JSON.stringify(value.slice(0, 100)).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return value.length > 100 ? `${quoted}…` : quoted;
};

/**
 * Why a body with these headers cannot be read as the UTF-8, uncompressed JSON the parser reads, or undefined when it
 * can. `coding`: the refusal is about `Content-Encoding`.
 */
export function unsupportedBody(contentType: string | undefined, contentEncoding: string | undefined): { message: string; coding?: true } | undefined {
  const type = contentType ?? '';
  const semicolon = type.indexOf(';');
  const mediaType = (semicolon < 0 ? type : type.slice(0, semicolon)).trim();
  if (!JSON_MEDIA_TYPE.test(mediaType)) return { message: 'request body must be application/json' };
  let rest = semicolon < 0 ? '' : type.slice(semicolon);
  // A parameter that cannot be read could be a charset: refused, not skipped.
  while (rest.trim() !== '') {
    const parameter = MEDIA_TYPE_PARAMETER.exec(rest);
    if (!parameter) return { message: `request body must be application/json: malformed Content-Type ${shown(type)}` };
    rest = rest.slice(parameter[0].length);
    if (parameter[1]?.toLowerCase() !== 'charset') continue;
    const charset = parameter[2].startsWith('"') ? parameter[2].slice(1, -1).replace(/\\(.)/g, '$1') : parameter[2];
    if (!/^utf-?8$/i.test(charset)) {
      return { message: `request body must be UTF-8 JSON: charset ${shown(charset)} is not supported (send charset=utf-8, or no charset)` };
    }
  }
  // `Content-Encoding: identity` (or none) is the body as sent; a list is applied in order, so any other coding in it counts.
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const coded = codings.find((c) => c.toLowerCase() !== 'identity');
  if (coded !== undefined) {
    return { message: `request body must not be compressed: Content-Encoding ${shown(coded)} is not supported (send the JSON as is)`, coding: true };
  }
  return undefined;
}

/** Parses a request body with a zod schema, or answers 400 naming each bad field, and each field the schema does not know. */
export function parseBody<S extends z.ZodTypeAny>(schema: S, body: unknown): z.infer<S> {
  if (body === undefined) throw new BadRequestException('request body is required');
  const result = parseKnownFields(schema, body);
  if (!result.success) throw new BadRequestException(describeIssues(result.error));
  return result.data;
}

/**
 * A path parameter that names an action (an envelope's subject): what the contracts allow as one (at most 200 characters,
 * no control or invisible characters), or 400 naming the parameter, before anything looks it up or echoes it back.
 * Use: `@Param('actionId', new IdentifierParam('actionId'))`.
 */
export class IdentifierParam implements PipeTransform<unknown, string> {
  private readonly schema: z.ZodString;

  constructor(
    /** The parameter's name, as the route spells it. */
    readonly name: string,
    /** The longest id it takes, in characters. */
    readonly max = 200,
  ) {
    this.schema = identifierString(max);
  }

  transform(value: unknown): string {
    if (typeof value !== 'string' || value === '') throw new BadRequestException(`${this.name}: required`);
    if (value.length > this.max) throw new BadRequestException(`${this.name}: at most ${this.max} characters (got ${value.length})`);
    if (!this.schema.safeParse(value).success) throw new BadRequestException(`${this.name}: ${IDENTIFIER_RULE}`);
    return value;
  }
}
