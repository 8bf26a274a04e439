import { BadRequestException, Injectable, NestMiddleware, PayloadTooLargeException, PipeTransform, UnsupportedMediaTypeException } from '@nestjs/common';
import { IncomingMessage } from 'node:http';
import { describeIssues, IDENTIFIER_RULE, identifierString, parseStrictJson } from '@countersign/contracts';
import { z } from 'zod';

export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads a JSON body with a byte limit and precise errors (413 past the limit, 400 for bad JSON) thrown
 * inside Nest, so the rejection filter answers and audits them like every other refusal. The body is read
 * by the strict parser every ingress shares (libs/contracts `parseStrictJson`: valid UTF-8, no duplicate
 * keys, at most 32 levels of nesting), never by `JSON.parse`.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  async use(req: IncomingMessage & { body?: unknown }, _res: unknown, next: () => void): Promise<void> {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE') return next();
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
    const type = String(req.headers['content-type'] ?? '');
    if (!/^application\/([a-z.+-]*\+)?json\b/i.test(type)) throw new UnsupportedMediaTypeException('request body must be application/json');
    const json = parseStrictJson(Buffer.concat(chunks), { maxBytes: MAX_BODY_BYTES });
    if (!json.ok) {
      if (json.problem === 'too-large') throw new PayloadTooLargeException(`request body is ${json.message}`);
      throw new BadRequestException(`malformed JSON body: ${json.message}`);
    }
    req.body = json.value;
    next();
  }
}

/** Parses a request body with a zod schema, or answers 400 naming each bad field. */
export function parseBody<S extends z.ZodTypeAny>(schema: S, body: unknown): z.infer<S> {
  if (body === undefined) throw new BadRequestException('request body is required');
  const result = schema.safeParse(body);
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
