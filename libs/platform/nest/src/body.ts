import { BadRequestException, Injectable, NestMiddleware, PayloadTooLargeException, PipeTransform, UnsupportedMediaTypeException } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeIssues, IDENTIFIER_RULE, identifierString, parseKnownFields, parseStrictJson } from '@countersign/contracts';
import { z } from 'zod';

export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads a JSON body with a byte limit and precise errors (413 past the limit, 400 for bad JSON, 415 for a body that is
 * not UTF-8 JSON as sent) thrown inside Nest, so the rejection filter answers and audits them like every other refusal.
 * The body is read by the strict parser every ingress shares (libs/contracts `parseStrictJson`: valid UTF-8, no
 * duplicate keys, no `__proto__` key, at most 32 levels of nesting), never by `JSON.parse`.
 *
 * The body is read as it arrives: as UTF-8, uncompressed. A body labelled otherwise (`charset=latin1`,
 * `Content-Encoding: gzip`) is refused rather than read as something the sender did not mean.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  async use(req: IncomingMessage & { body?: unknown }, res: Pick<ServerResponse, 'setHeader'>, next: () => void): Promise<void> {
    // A DELETE may carry a body too (a reason for clearing an override): read as strictly as any other, not ignored.
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      throw new PayloadTooLargeException(`request body is ${declared} bytes, over the ${MAX_BODY_BYTES}-byte limit`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) throw new PayloadTooLargeException(`request body is over the ${MAX_BODY_BYTES}-byte limit`);
      chunks.push(chunk as Buffer);
    }
    if (size === 0) {
      req.body = undefined;
      return next();
    }
    const unsupported = unsupportedBody(req.headers['content-type'], req.headers['content-encoding']);
    if (unsupported) {
      // RFC 9110 §12.5.3: a 415 for a content coding says which codings would do.
      if (unsupported.coding) res.setHeader('Accept-Encoding', 'identity');
      throw new UnsupportedMediaTypeException(unsupported.message);
    }
    const json = parseStrictJson(Buffer.concat(chunks), { maxBytes: MAX_BODY_BYTES });
    if (!json.ok) {
      if (json.problem === 'too-large') throw new PayloadTooLargeException(`request body is ${json.message}`);
      throw new BadRequestException(`malformed JSON body: ${json.message}`);
    }
    req.body = json.value;
    next();
  }
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
