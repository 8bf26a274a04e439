import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import ts from 'typescript';

// real: the workspace's TypeScript sources, read with the TypeScript parser; fake: nothing.
// The convention (docs/adr/0010): an adapter lives in a file named for its technology
// (`redis-…`, `pg-…`, `kafka…`, `in-memory-…`, `file-…`, `unleash-…`, `webhook…`), holding only the adapter
// (classes `Redis…`, `Pg…`, `InMemory…`, …, and `create…` factories). A port — the interface and the domain
// types a reader of the port needs — lives in a file of its own, so nobody opens the SQL to read it.
const root = join(__dirname, '../..');
const ADAPTER_FILE = /^(redis|pg|postgres|kafka|in-memory|file|unleash|webhook)[.-]/;
const ADAPTER_NAME = /^(Redis|Pg|Postgres|Kafka|InMemory|File|Unleash|Webhook)[A-Z]|^create[A-Z]/;

const aliases = Object.fromEntries(
  Object.entries(
    (JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } }).compilerOptions.paths,
  ).map(([a, [p]]) => [a, join(root, p)]),
);
const sources = execFileSync('git', ['ls-files', '-co', '--exclude-standard', 'apps/*.ts', 'libs/*.ts'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f.endsWith('.ts') && !/\.(spec|int-spec|e2e-spec|suite)\.ts$/.test(f) && !f.startsWith('libs/testing/') && existsSync(join(root, f)));

function resolveImport(from: string, spec: string): string | undefined {
  const base = spec.startsWith('.') ? resolve(dirname(join(root, from)), spec) : aliases[spec];
  if (!base) return undefined;
  return base.endsWith('.ts') ? base : `${base}.ts`;
}

function parse(file: string) {
  return ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.ES2022, true);
}

describe('ports apart from adapters', () => {
  it('adapter classes live only in adapter files (named for their technology)', () => {
    const misplaced: string[] = [];
    for (const file of sources) {
      if (ADAPTER_FILE.test(basename(file))) continue;
      for (const node of parse(file).statements) {
        if (ts.isClassDeclaration(node) && node.name && ADAPTER_NAME.test(node.name.text)) misplaced.push(`${file}: class ${node.name.text}`);
      }
    }
    expect(misplaced).toEqual([]);
  });

  it('nothing imports a port or a domain type from an adapter file', () => {
    const violations: string[] = [];
    for (const file of sources) {
      for (const node of parse(file).statements) {
        if (!ts.isImportDeclaration(node) || !node.importClause) continue;
        const target = resolveImport(file, (node.moduleSpecifier as ts.StringLiteral).text);
        if (!target || !ADAPTER_FILE.test(basename(target))) continue;
        const bindings = node.importClause.namedBindings;
        const names = bindings && ts.isNamedImports(bindings) ? bindings.elements.map((e) => (e.propertyName ?? e.name).text) : ['*'];
        for (const name of names) if (!ADAPTER_NAME.test(name)) violations.push(`${file} imports ${name} from ${relative(root, target)}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
