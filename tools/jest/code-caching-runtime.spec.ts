import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// real: Jest (this checkout's) running a small project's test files through tools/jest/code-caching-runtime.js, in a
// process of its own; fake: nothing.
const JEST = require.resolve('jest/bin/jest');

/** A project whose two test files load a CommonJS package (which throws on a known line) and a file with an import(). */
function project() {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-jest-cache-'));
  const pkg = join(dir, 'node_modules', 'probe');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'probe', main: 'index.js' }));
  writeFileSync(
    join(pkg, 'index.js'),
    [
      `const realm = globalThis;`,
      `exports.version = () => 1;`,
      `exports.realm = () => realm;`,
      `exports.scope = () => [typeof jest.fn, __filename.endsWith('probe/index.js'), require.resolve('./index.js') === __filename, this === exports].join(' ');`,
      `exports.fails = () => { throw new Error('from the package'); };`,
    ].join('\n'),
  );
  // A file with a dynamic import: Jest's own compile (a cached script cannot import in Node 20).
  writeFileSync(join(pkg, 'dynamic.js'), `exports.load = () => import('node:path');`);
  const test = (name: string) =>
    writeFileSync(
      join(dir, `${name}.test.js`),
      [
        `const probe = require('probe');`,
        `require('probe/dynamic');`,
        `test('${name}', () => {`,
        `  expect(probe.version()).toBe(Number(process.env.PROBE_VERSION));`,
        `  expect(probe.realm()).toBe(globalThis);`,
        `  expect(probe.scope()).toBe('function true true true');`,
        `  let stack = '';`,
        `  try { probe.fails(); } catch (e) { stack = e.stack; }`,
        `  expect(stack.split('\\n')[1]).toContain('node_modules/probe/index.js:5');`,
        `  expect(new Error('here').stack.split('\\n')[1]).toContain('${name}.test.js:10');`,
        `});`,
      ].join('\n'),
    );
  test('first');
  test('second');
  writeFileSync(
    join(dir, 'jest.config.js'),
    `module.exports = { rootDir: __dirname, runtime: ${JSON.stringify(join(__dirname, 'code-caching-runtime.js'))}, testEnvironment: 'node', transform: {}, maxWorkers: 1 };`,
  );
  return { dir, index: join(pkg, 'index.js'), dynamic: join(pkg, 'dynamic.js') };
}

describe('tools/jest/code-caching-runtime.js', () => {
  const cache = mkdtempSync(join(tmpdir(), 'countersign-jest-cache-entries-'));
  const entries = () =>
    readdirSync(cache)
      .filter((n) => n.endsWith('.v8'))
      .sort();
  const jest = (dir: string, version = 1, ...args: string[]) =>
    spawnSync(process.execPath, [JEST, '--ci', '--runInBand', ...args], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, COUNTERSIGN_REGISTER_CACHE: cache, PROBE_VERSION: String(version) },
    });

  it('runs each test file with modules of its own (in its own realm), traced to their lines, from the cache after the first time; a changed file is compiled again', () => {
    const { dir, index, dynamic } = project();
    const first = jest(dir);
    expect(first.stderr).toMatch(/Tests:\s+2 passed, 2 total/);
    // The package's file, the two test files, and the modules Jest loads into each file (its `expect`, …).
    const cachedAtFirst = entries().length;
    expect(cachedAtFirst).toBeGreaterThanOrEqual(3);
    const written = entries().map((n) => statSync(join(cache, n)).mtimeMs);
    const second = jest(dir);
    expect(second.stderr).toMatch(/Tests:\s+2 passed, 2 total/);
    expect(entries().map((n) => statSync(join(cache, n)).mtimeMs)).toEqual(written);
    // The same length, another content: compiled again (V8 checks only the length), and its entry written beside.
    writeFileSync(index, readFileSync(index, 'utf8').replace('() => 1;', '() => 7;'));
    expect(jest(dir, 7).stderr).toMatch(/Tests:\s+2 passed, 2 total/);
    expect(entries()).toHaveLength(cachedAtFirst + 1);
    // The file with an import() is Jest's to compile: changed, it leaves no entry.
    writeFileSync(dynamic, readFileSync(dynamic, 'utf8').replace("'node:path'", "'node:util'"));
    expect(jest(dir, 7).stderr).toMatch(/Tests:\s+2 passed, 2 total/);
    expect(entries()).toHaveLength(cachedAtFirst + 1);
  });

  it('leaves a source that does not compile to Jest, which reports it as it does', () => {
    const { dir } = project();
    writeFileSync(join(dir, 'broken.test.js'), `test('x', () => {\n  const = 1;\n});\n`);
    const run = jest(dir, 1, 'broken');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('SyntaxError');
    expect(run.stderr).toContain('broken.test.js');
  });
});
