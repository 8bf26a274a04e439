/**
 * TypeScript types from the operational contract's JSON Schema (libs/policy/contract.schema.json), so the shape
 * is written once: the schema (what ajv validates, with line-numbered errors) is the source, the types are
 * generated (`npm run policy:generate` writes src/contract.types.ts; a test fails when they drift apart).
 *
 * Only the JSON Schema the contract uses is understood: `type` (one or a list), `properties`/`required`,
 * `additionalProperties`, `items`, `enum`, `const`, `oneOf`, `$ref` to `#/definitions/…`, and the annotations
 * `title` (a subschema with a title becomes a named type) and `description` (its TSDoc). Anything else is an
 * error here, so a new keyword is a decision, not a silent `unknown`.
 */
import schema from '../contract.schema.json';

/** A JSON Schema node, as far as the generator reads it. */
interface Node {
  $ref?: string;
  title?: string;
  description?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  oneOf?: Node[];
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: boolean | Node;
  items?: Node;
  definitions?: Record<string, Node>;
}

/** A definition typed elsewhere: the generated file imports it instead of spelling it out. */
export interface ExternalType {
  name: string;
  from: string;
}

export interface ContractTypesOptions {
  /** The root type's name. */
  rootName: string;
  /** `#/definitions/<key>` typed by another module. */
  external: Record<string, ExternalType>;
  /** The first line of the file. */
  banner: string;
}

// Keywords that constrain values but not their TypeScript type (ajv checks them at load).
const VALUE_ONLY = new Set([
  'minLength',
  'minItems',
  'minProperties',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'pattern',
  'propertyNames',
]);
const ANNOTATIONS = new Set(['title', 'description', '$schema', '$id']);
const UNDERSTOOD = new Set(['$ref', 'type', 'enum', 'const', 'oneOf', 'properties', 'required', 'additionalProperties', 'items', 'definitions']);

const SCALARS: Record<string, string> = { string: 'string', number: 'number', integer: 'number', boolean: 'boolean', null: 'null', array: 'unknown[]' };

/** A TSDoc comment, wrapped to stay well inside the line width. */
function doc(text: string | undefined, indent: string): string {
  if (!text) return '';
  const words = text.replace(/\*\//g, '*\\/').split(/\s+/);
  if (indent.length + text.length + 7 <= 120) return `${indent}/** ${words.join(' ')} */\n`;
  const lines: string[] = [];
  for (const w of words) {
    if (lines.length && indent.length + lines[lines.length - 1].length + w.length + 4 <= 120) lines[lines.length - 1] += ` ${w}`;
    else lines.push(w);
  }
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l}\n`).join('')}${indent} */\n`;
}
const key = (k: string) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : JSON.stringify(k));
const literal = (v: unknown) => JSON.stringify(v);

/** The TypeScript source of the types `schema` describes (unformatted: the writer passes it through Prettier). */
export function contractTypesSource(schema: Node, options: ContractTypesOptions): string {
  const declarations = new Map<string, string>();
  const imports = new Map<string, Set<string>>();

  const check = (node: Node, at: string) => {
    for (const k of Object.keys(node)) {
      if (!UNDERSTOOD.has(k) && !VALUE_ONLY.has(k) && !ANNOTATIONS.has(k)) throw new Error(`${at}: the type generator does not know the keyword ${k}`);
    }
  };

  const declaredAt = new Map<string, string>();
  const named = (node: Node, name: string, at: string): string => {
    const first = declaredAt.get(name);
    if (first !== undefined && first !== at) throw new Error(`${at}: the type name ${name} is taken by ${first}`);
    if (first === undefined) {
      declaredAt.set(name, at); // first: a recursive definition refers to itself by name
      declarations.set(name, '');
      const body = typeOf(node, at, '', true);
      declarations.set(name, `${doc(node.description, '')}export ${body.startsWith('{') ? `interface ${name} ${body}` : `type ${name} = ${body};`}\n`);
    }
    return name;
  };

  const ref = (pointer: string): string => {
    const m = /^#\/definitions\/([^/]+)$/.exec(pointer);
    if (!m) throw new Error(`$ref ${pointer}: only #/definitions/<name> is supported`);
    const external = options.external[m[1]];
    if (external) {
      if (!imports.has(external.from)) imports.set(external.from, new Set());
      imports.get(external.from)!.add(external.name);
      return external.name;
    }
    const target = schema.definitions?.[m[1]];
    if (!target) throw new Error(`$ref ${pointer}: no such definition`);
    if (!target.title) throw new Error(`${pointer}: a referenced definition needs a title (its type name) or an external type`);
    return named(target, target.title, pointer);
  };

  const arrayOf = (t: string) => (/^[A-Za-z0-9_$.'"<>[\]]+$/.test(t) ? `${t}[]` : `Array<${t}>`);

  /** The type of `node`: a titled subschema by its name, unless this is its declaration. */
  function typeOf(node: Node, at: string, indent: string, declaring = false): string {
    check(node, at);
    if (node.title && !declaring) return named(node, node.title, at);
    if (node.$ref) return ref(node.$ref);
    if (node.const !== undefined) return literal(node.const);
    if (node.enum) return node.enum.map(literal).join(' | ');
    if (node.oneOf) return node.oneOf.map((n, i) => typeOf(n, `${at}/oneOf/${i}`, indent)).join(' | ');
    const types = node.type === undefined ? [] : Array.isArray(node.type) ? node.type : [node.type];
    if (types.length === 0 && Object.keys(node).every((k) => ANNOTATIONS.has(k))) return 'unknown';
    if (types.length === 1 && types[0] === 'object') return objectType(node, at, indent);
    if (types.length === 1 && types[0] === 'array') return node.items ? arrayOf(typeOf(node.items, `${at}/items`, indent)) : 'unknown[]';
    if (types.length && types.every((t) => t in SCALARS)) return types.map((t) => SCALARS[t]).join(' | ');
    throw new Error(`${at}: cannot type ${JSON.stringify(node.type)}`);
  }

  function objectType(node: Node, at: string, indent: string): string {
    const extra = node.additionalProperties;
    if (!node.properties) {
      if (extra === false) throw new Error(`${at}: an object with no properties allows nothing`);
      return `Record<string, ${extra === undefined || extra === true ? 'unknown' : typeOf(extra, `${at}/additionalProperties`, indent)}>`;
    }
    if (extra !== false) throw new Error(`${at}: an object with properties must say additionalProperties: false (the contract names every field)`);
    const inner = `${indent}  `;
    const required = new Set(node.required ?? []);
    const fields = Object.entries(node.properties).map(
      ([k, v]) => `${doc(v.description, inner)}${inner}${key(k)}${required.has(k) ? '' : '?'}: ${typeOf(v, `${at}/properties/${k}`, inner)};\n`,
    );
    return `{\n${fields.join('')}${indent}}`;
  }

  named(schema, options.rootName, '#');
  const head = [...imports]
    .sort(([a], [b]) => Number(a.startsWith('.')) - Number(b.startsWith('.')) || a.localeCompare(b))
    .map(([from, names]) => `import type { ${[...names].sort().join(', ')} } from '${from}';\n`);
  return `${options.banner}\n${head.join('')}\n${[...declarations.values()].join('\n')}`;
}

/** Where the generated types are written, relative to libs/policy. */
export const CONTRACT_TYPES_FILE = 'src/contract.types.ts';

/**
 * The operational contract's types. Two definitions are typed elsewhere: a condition is the engine's tagged
 * union (`conditions.ts`: the schema accepts one object with optional operators, so that its error messages stay
 * those of one object), and a lane is the wire type of `@countersign/contracts` (a test holds the enums equal).
 */
export function contractTypes(): string {
  return contractTypesSource(schema as Node, {
    rootName: 'OperationalContract',
    external: { condition: { name: 'Condition', from: './conditions' }, lane: { name: 'Lane', from: '@countersign/contracts' } },
    banner: '// Generated from libs/policy/contract.schema.json by `npm run policy:generate`: do not edit (a test fails when they differ).',
  });
}
