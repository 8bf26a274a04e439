// The project's TypeScript loader for Node processes: `node -r ./tools/register.js <file>.ts` (the services, the CLI, the
// scripts and the processes the tests start). It compiles exactly as @swc-node/register does (its own `compile`, with
// the options it reads from the tsconfig), and keeps each file's output on disk, by content, in
// node_modules/.cache/countersign-register. A process whose files are all there never loads TypeScript nor swc:
// @swc-node/register alone costs half a second of CPU per process to load TypeScript (only to read the tsconfig), and
// the suite starts about a hundred processes. A changed file, tsconfig or compiler version is compiled again. Once a day
// a process removes the entries older than 30 days (each version of a file leaves one). COUNTERSIGN_REGISTER_CACHE
// names another directory.
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
      if (!name.endsWith('.js')) continue;
      const file = join(CACHE, name);
      if (Date.now() - (await stat(file)).mtimeMs > KEEP_MS) await unlink(file);
    }
  })().catch(() => undefined); // another process pruning the same entries, or a file gone: the next day tries again
}
if (writable) pruneNowAndThen();

// Stack traces name the TypeScript lines: the output carries its source map inline, and Node reads it.
process.setSourceMapsEnabled(true);

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
