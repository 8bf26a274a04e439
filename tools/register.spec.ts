import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// real: node processes loading TypeScript through tools/register.js, and @swc-node/register's own compile; fake: nothing.
const root = join(__dirname, '..');
const run = (file: string, env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, ['-r', join(__dirname, 'register.js'), file], { cwd: root, encoding: 'utf8', timeout: 60_000, env });

describe('tools/register.js', () => {
  it('runs TypeScript as @swc-node/register compiles it, and compiles a changed file again instead of serving the cached one', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'countersign-register-')), 'probe.ts');
    const write = (n: number) =>
      writeFileSync(
        file,
        `interface Probe { n: number }\nconst probe: Probe = { n: ${n} };\nif (probe.n < 0) throw new Error('never');\nprocess.stdout.write(String(probe.n));\n`,
      );
    write(1);
    expect(run(file)).toMatchObject({ status: 0, stdout: '1' });
    // The second run reads its output from the cache; the third must see the change.
    expect(run(file)).toMatchObject({ status: 0, stdout: '1' });
    write(2);
    expect(run(file)).toMatchObject({ status: 0, stdout: '2' });
  });

  it('names the TypeScript line in a stack trace (the output carries its source map)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'countersign-register-')), 'throws.ts');
    writeFileSync(file, `type Reason = string;\n\nconst reason: Reason = 'mapped';\nthrow new Error(reason);\n`);
    const r = run(file);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file}:4`);
  });

  it('resolves the workspace aliases as the services import them', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'countersign-register-')), 'alias.ts');
    writeFileSync(file, `import { TOPICS } from '@countersign/contracts';\nprocess.stdout.write(TOPICS.actionProposed);\n`);
    expect(run(file)).toMatchObject({ status: 0, stdout: 'orchestrator.action.proposed.v1' });
  });

  it("resolves them from a directory without a tsconfig too: the project's own is read (red team, 2026-12-04)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'countersign-register-'));
    const file = join(dir, 'alias.ts');
    writeFileSync(file, `import { TOPICS } from '@countersign/contracts';\nprocess.stdout.write(TOPICS.actionProposed);\n`);
    const { SWC_NODE_PROJECT: _swc, TS_NODE_PROJECT: _ts, ...env } = process.env;
    const elsewhere = spawnSync(process.execPath, ['-r', join(__dirname, 'register.js'), file], { cwd: dir, encoding: 'utf8', timeout: 60_000, env });
    expect(elsewhere).toMatchObject({ status: 0, stdout: 'orchestrator.action.proposed.v1' });
  });

  it('removes the entries not written for 30 days, once a day, and keeps the newer ones', () => {
    const cache = mkdtempSync(join(tmpdir(), 'countersign-register-cache-'));
    const env = { ...process.env, COUNTERSIGN_REGISTER_CACHE: cache };
    const file = join(mkdtempSync(join(tmpdir(), 'countersign-register-')), 'prune.ts');
    writeFileSync(file, `const n: number = 3;\nprocess.stdout.write(String(n));\n`);
    expect(run(file, env)).toMatchObject({ status: 0, stdout: '3' });
    const [fresh] = readdirSync(cache).filter((n) => n.endsWith('.js'));
    expect(fresh).toBeDefined();
    const old = join(cache, `${'0'.repeat(64)}.js`);
    const aged = join(cache, `${'1'.repeat(64)}.js`);
    writeFileSync(old, '// 31 days old');
    writeFileSync(aged, '// 29 days old');
    const daysAgo = (d: number) => new Date(Date.now() - d * 24 * 3600 * 1000);
    utimesSync(old, daysAgo(31), daysAgo(31));
    utimesSync(aged, daysAgo(29), daysAgo(29));
    // Pruned within the day already (the first run's marker): nothing goes.
    expect(run(file, env)).toMatchObject({ status: 0, stdout: '3' });
    expect(existsSync(old)).toBe(true);
    // A day later: the 31-day-old entry goes, the others stay (the process waits for the prune before it exits).
    utimesSync(join(cache, '.pruned'), daysAgo(1.1), daysAgo(1.1));
    expect(run(file, env)).toMatchObject({ status: 0, stdout: '3' });
    expect(existsSync(old)).toBe(false);
    expect(existsSync(aged)).toBe(true);
    expect(existsSync(join(cache, fresh))).toBe(true);
  });

  it('compiles in memory when its cache cannot be written', () => {
    const parent = mkdtempSync(join(tmpdir(), 'countersign-register-ro-'));
    const blocked = join(parent, 'file');
    writeFileSync(blocked, 'a file where the cache directory would be');
    const file = join(mkdtempSync(join(tmpdir(), 'countersign-register-')), 'ro.ts');
    writeFileSync(file, `const s: string = 'in memory';\nprocess.stdout.write(s);\n`);
    expect(run(file, { ...process.env, COUNTERSIGN_REGISTER_CACHE: join(blocked, 'cache') })).toMatchObject({ status: 0, stdout: 'in memory' });
  });

  describe("V8's code cache for the packages' files", () => {
    /** A project with a CommonJS package in node_modules, a file of its, an ES module package, and a script using them. */
    function project(version: number) {
      const dir = mkdtempSync(join(tmpdir(), 'countersign-register-v8-'));
      const pkg = join(dir, 'node_modules', 'probe');
      mkdirSync(pkg, { recursive: true });
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'probe', main: 'index.js' }));
      writeFileSync(
        join(pkg, 'index.js'),
        [
          `const helper = require('./helper');`,
          `exports.version = () => ${version};`,
          `exports.seen = () => [helper.name, require.resolve('./helper') === __dirname + '/helper.js', require.main === process.mainModule, module.exports === exports, this === exports].join(' ');`,
          `exports.later = () => require('./later').later();`,
          `exports.fails = () => { throw new Error('from the package'); };`,
        ].join('\n'),
      );
      writeFileSync(join(pkg, 'helper.js'), `exports.name = 'helper';`);
      // A dynamic import: compiled by Node, not from the cache (a cached script cannot import in Node 20).
      writeFileSync(join(pkg, 'later.js'), `exports.later = () => import('esm-probe').then((m) => m.answer);`);
      const esm = join(dir, 'node_modules', 'esm-probe');
      mkdirSync(esm, { recursive: true });
      writeFileSync(join(esm, 'package.json'), JSON.stringify({ name: 'esm-probe', type: 'module', exports: './index.js' }));
      writeFileSync(join(esm, 'index.js'), `export const answer = 42;`);
      const script = join(dir, 'main.ts');
      writeFileSync(
        script,
        [
          `const probe = require('probe');`,
          `const esm: { answer: number } = require('esm-probe');`,
          `let where = '';`,
          `try { probe.fails(); } catch (e) { where = (e as Error).stack!.split('\\n')[1].includes('node_modules/probe/index.js:5') ? 'traced' : (e as Error).stack!; }`,
          `probe.later().then((later: number) => process.stdout.write([probe.version(), probe.seen(), esm.answer, later, where].join(' | ')));`,
        ].join('\n'),
      );
      return { dir, script, index: join(pkg, 'index.js') };
    }
    const cached = (cache: string) => readdirSync(cache).filter((n) => n.endsWith('.v8'));
    /** Runs `script` once, for its TypeScript to be compiled (which loads the compiler's packages), then forgets their entries. */
    const warm = (run: () => unknown, cache: string) => {
      run();
      for (const n of cached(cache)) rmSync(join(cache, n));
    };

    it('runs a package as Node does, from the cache the second time, and compiles a changed file again', () => {
      const cache = mkdtempSync(join(tmpdir(), 'countersign-register-cache-'));
      const env = { ...process.env, COUNTERSIGN_REGISTER_CACHE: cache };
      const { dir, script, index } = project(1);
      const expected = '1 | helper true true true true | 42 | 42 | traced';
      const inDir = (e: NodeJS.ProcessEnv) =>
        spawnSync(process.execPath, ['-r', join(__dirname, 'register.js'), script], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: e });
      // Node alone (no cache of ours) gives the same answers.
      expect(inDir({ ...env, COUNTERSIGN_REGISTER_CACHE: join(cache, 'unused') }).stdout).toBe(expected);
      rmSync(join(cache, 'unused'), { recursive: true });
      warm(() => inDir(env), cache);
      const first = inDir(env);
      expect(first).toMatchObject({ status: 0, stdout: expected, stderr: '' });
      // The package's two CommonJS files without an import(), written as the process exited; the ES module is Node's own.
      expect(cached(cache)).toHaveLength(2);
      const written = cached(cache).map((n) => statSync(join(cache, n)).mtimeMs);
      // From the cache, and without a word (no experimental loader's warning).
      expect(inDir(env)).toMatchObject({ status: 0, stdout: expected, stderr: '' });
      expect(cached(cache).map((n) => statSync(join(cache, n)).mtimeMs)).toEqual(written);
      // The same length, another content: compiled again, and its entry written beside.
      writeFileSync(index, readFileSync(index, 'utf8').replace('() => 1;', '() => 7;'));
      expect(inDir(env)).toMatchObject({ status: 0, stdout: expected.replace(/^1/, '7') });
      expect(cached(cache)).toHaveLength(3);
    });

    it('ignores an entry V8 rejects (damaged, or made under other flags) and writes it anew', () => {
      const cache = mkdtempSync(join(tmpdir(), 'countersign-register-cache-'));
      const env = { ...process.env, COUNTERSIGN_REGISTER_CACHE: cache };
      const { dir, script } = project(1);
      const inDir = () => spawnSync(process.execPath, ['-r', join(__dirname, 'register.js'), script], { cwd: dir, encoding: 'utf8', timeout: 60_000, env });
      warm(inDir, cache);
      expect(inDir().status).toBe(0);
      expect(cached(cache)).toHaveLength(2);
      for (const n of cached(cache)) writeFileSync(join(cache, n), randomBytes(64));
      expect(inDir()).toMatchObject({ status: 0, stdout: expect.stringMatching(/^1 \| helper/) });
      for (const n of cached(cache)) expect(statSync(join(cache, n)).size).toBeGreaterThan(64);
    });
  });
});
