// The project's TypeScript loader for Node processes: `node -r ./tools/register.js <file>.ts` (the services, the CLI, the
// scripts and the processes the tests start). It compiles exactly as @swc-node/register does (its own `compile`, with
// the options it reads from the tsconfig), and keeps each file's output on disk, by content, in
// node_modules/.cache/countersign-register. A process whose files are all there never loads TypeScript nor swc:
// @swc-node/register alone costs half a second of CPU per process to load TypeScript (only to read the tsconfig), and
// the suite starts about a hundred processes. A changed file, tsconfig or compiler version is compiled again. Once a day
// a process removes the entries older than 30 days (each version of a file leaves one). V8's code cache of the packages'
// files is kept there too (`cacheCompiledPackages`). COUNTERSIGN_REGISTER_CACHE names another directory.
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { addHook } = require('pirates');

const ROOT = join(__dirname, '..');
// Run from another directory (`node -r /path/to/tools/register.js …` in a shell elsewhere), the project's own tsconfig,
// not none: without its paths `@countersign/…` does not resolve (red team, 2026-12-04: a stack trace from the CLI).
if (!process.env.SWC_NODE_PROJECT && !process.env.TS_NODE_PROJECT && !existsSync(join(process.cwd(), 'tsconfig.json')))
  process.env.SWC_NODE_PROJECT = join(ROOT, 'tsconfig.json');
const CACHE = process.env.COUNTERSIGN_REGISTER_CACHE || join(ROOT, 'node_modules/.cache/countersign-register');
const DAY_MS = 24 * 3600 * 1000;
const KEEP_MS = 30 * DAY_MS;
// The extensions @swc-node/register hooks (files under node_modules are left to Node, as there).
const EXTENSIONS = ['.js', '.ts', '.jsx', '.tsx', '.mjs', '.mts', '.cjs', '.cts', '.es6', '.es'];

/** What the output depends on besides the file: the tsconfig @swc-node/register reads, and the compilers' versions. */
function salt() {
  const project = process.env.SWC_NODE_PROJECT || process.env.TS_NODE_PROJECT || join(process.cwd(), 'tsconfig.json');
  const read = (file) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  const version = (pkg) => JSON.parse(read(join(ROOT, 'node_modules', pkg, 'package.json')) || '{}').version;
  return [project, read(project), read(join(ROOT, 'tsconfig.base.json')), version('@swc-node/register'), version('@swc/core')].join('\0');
}

let compiler;
/** @swc-node/register's compilation, loaded on the first file not in the cache. */
function compile(code, filename) {
  if (!compiler) {
    const { compile: swcNodeCompile } = require('@swc-node/register/register');
    const { readDefaultTsConfig } = require('@swc-node/register/read-default-tsconfig');
    const options = readDefaultTsConfig();
    options.module = 1; // ts.ModuleKind.CommonJS, as @swc-node/register's `register` sets it
    compiler = (source, file) => swcNodeCompile(source, file, options);
  }
  return compiler(code, filename);
}

const base = createHash('sha256').update(salt());
// A checkout the process may not write to compiles in memory, as @swc-node/register does.
let writable = true;
try {
  mkdirSync(CACHE, { recursive: true });
} catch {
  writable = false;
}
/**
 * At most once a day (a marker file's time), in the background: removes the entries not written for 30 days. One still
 * in use is compiled again once; a process that exits first leaves the rest to the next day's.
 */
function pruneNowAndThen() {
  const marker = join(CACHE, '.pruned');
  try {
    if (Date.now() - statSync(marker).mtimeMs < DAY_MS) return;
  } catch {
    // never pruned here
  }
  try {
    writeFileSync(marker, '');
  } catch {
    return;
  }
  const { readdir, stat, unlink } = require('node:fs/promises');
  (async () => {
    for (const name of await readdir(CACHE)) {
      if (!name.endsWith('.js') && !name.endsWith('.v8')) continue;
      const file = join(CACHE, name);
      if (Date.now() - (await stat(file)).mtimeMs > KEEP_MS) await unlink(file);
    }
  })().catch(() => undefined); // another process pruning the same entries, or a file gone: the next day tries again
}
if (writable) pruneNowAndThen();

// Stack traces name the TypeScript lines: the output carries its source map inline, and Node reads it.
process.setSourceMapsEnabled(true);

/**
 * V8's code cache for the packages' CommonJS files (node_modules), on disk beside the compiled TypeScript: a process
 * that loads them again deserialises their code instead of compiling it (the embedded mode's start loads some 1,700 of
 * them; a quarter of a second of CPU less per process, and the suite starts some two hundred). Node 20 has no
 * `module.enableCompileCache`, so this does what Node's own `_compile` does for such a file, with `vm.Script`'s
 * `cachedData`. Anything it would not run as Node does goes to Node's own: the project's files (their source maps), an
 * ES module (`require(esm)`, or a file that does not compile as a CommonJS wrapper), and a file with a dynamic `import()`
 * (`DYNAMIC_IMPORT`). The entries (tools/v8-code-cache.js) are written once the process has run a while (so the functions
 * compiled lazily are in them) or as it exits.
 */
function cacheCompiledPackages() {
  const Module = require('node:module');
  const vm = require('node:vm');
  const { dirname } = require('node:path');
  const { codeCacheIn, DYNAMIC_IMPORT } = require('./v8-code-cache');
  const cache = codeCacheIn(CACHE, () => writable);
  const nodeCompile = Module.prototype._compile;
  let writeScheduled = false;
  Module.prototype._compile = function compile(content, filename, format) {
    if (format === 'module' || !filename.includes('/node_modules/') || DYNAMIC_IMPORT.test(content)) return nodeCompile.call(this, content, filename, format);
    const entry = cache.lookup(filename, content);
    let script;
    try {
      script = new vm.Script(Module.wrap(content), { filename, cachedData: entry.data });
    } catch {
      return nodeCompile.call(this, content, filename, format); // ES module syntax (Node loads it as one), or an error Node reports
    }
    // Written once the process has run a while (so the functions compiled lazily are in it), or as it exits.
    if (cache.keep(entry, script) && !writeScheduled) {
      writeScheduled = true;
      setTimeout(() => {
        writeScheduled = false;
        cache.write();
      }, 10_000).unref();
    }
    // Node's `require` for the module (lib/internal/modules/helpers.js: makeRequireFunction).
    const mod = this;
    const require = (id) => mod.require(id);
    const resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
    resolve.paths = (request) => Module._resolveLookupPaths(request, mod);
    require.resolve = resolve;
    require.main = process.mainModule;
    require.extensions = Module._extensions;
    require.cache = Module._cache;
    return script.runInThisContext().call(this.exports, this.exports, require, this, filename, dirname(filename));
  };
  process.once('exit', () => cache.write());
}
cacheCompiledPackages();

addHook(
  (code, filename) => {
    const key = base.copy().update(filename).update('\0').update(code).digest('hex');
    const file = join(CACHE, `${key}.js`);
    try {
      return readFileSync(file, 'utf8');
    } catch {
      const output = compile(code, filename);
      if (writable) {
        // Another process may write the same entry at the same moment: each writes its own file, then renames it.
        const tmp = `${file}.${process.pid}.tmp`;
        try {
          writeFileSync(tmp, output);
          renameSync(tmp, file);
        } catch {
          writable = false;
        }
      }
      return output;
    }
  },
  { exts: EXTENSIONS },
);
