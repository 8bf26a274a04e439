import Module from 'node:module';
import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';

type Doc = { paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>> } & Record<
  string,
  unknown
>;

/**
 * Checks a document against the OpenAPI schema of its version (3.1: the OpenAPI Initiative's JSON Schema, through
 * `@seriousme/openapi-schema-validator`). The validator ships only ES modules: Node's loader loads it, outside Jest's
 * module registry (as libs/testing/src/native-esm/ does for the OpenID Connect libraries).
 */
export async function validateOpenApi(doc: unknown): Promise<{ valid: boolean; version: string; errors?: unknown }> {
  const { Validator } = (Module as unknown as { _load(p: string, parent: null, main: boolean): typeof import('@seriousme/openapi-schema-validator') })._load(
    require.resolve('@seriousme/openapi-schema-validator'),
    null,
    false,
  );
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc) as Record<string, unknown>);
  return { valid: result.valid, version: validator.version, errors: result.errors };
}

/** `#/components/schemas/X` references replaced by the schemas they name (the documents here have no cycles). */
function inline(value: unknown, doc: Doc): unknown {
  if (Array.isArray(value)) return value.map((v) => inline(v, doc));
  if (!value || typeof value !== 'object') return value;
  const ref = (value as { $ref?: unknown }).$ref;
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    const target = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], doc);
    if (target === undefined) throw new Error(`unresolved ${ref}`);
    return inline(target, doc);
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inline(v, doc)]));
}

/**
 * A JSON Schema validator of what the document says a route answers with `status` (as `application/json`): a test
 * holds a real answer to it.
 */
export function documentedResponse(doc: unknown, method: string, path: string, status: number): ValidateFunction {
  const d = doc as Doc;
  const schema = d.paths[path]?.[method.toLowerCase()]?.responses?.[String(status)]?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`the document has no application/json ${status} answer for ${method} ${path}`);
  return new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(inline(schema, d) as object);
}

/** Every schema of every operation (bodies and answers), compiled as JSON Schema 2020-12: the names of those that do not compile. */
export function uncompilableSchemas(doc: unknown): string[] {
  const d = doc as Doc;
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  const bad: string[] = [];
  for (const [path, item] of Object.entries(d.paths)) {
    for (const [method, op] of Object.entries(item as Record<string, Record<string, unknown>>)) {
      const contents: Array<[string, Record<string, { schema?: unknown }> | undefined]> = [
        ['request body', (op.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined)?.content],
        ...Object.entries((op.responses ?? {}) as Record<string, { content?: Record<string, { schema?: unknown }> }>).map(
          ([s, r]): [string, Record<string, { schema?: unknown }> | undefined] => [s, r.content],
        ),
      ];
      for (const [where, content] of contents) {
        for (const media of Object.values(content ?? {})) {
          try {
            if (media.schema !== undefined) ajv.compile(inline(media.schema, d) as object);
          } catch (e) {
            bad.push(`${method.toUpperCase()} ${path} ${where}: ${(e as Error).message}`);
          }
        }
      }
    }
  }
  return bad;
}
