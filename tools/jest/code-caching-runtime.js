// Jest's module runtime, with V8's code cache (tools/v8-code-cache.js). Jest gives every test file a registry of its own,
// so each file compiles again every module it loads (Nest, zod, ajv, the services): an eighth of a unit test file's CPU
// was V8 compiling the same sources (`--cpu-prof`, forty small unit files in one worker). Here a module's code is
// compiled once, kept on disk beside tools/register.js's entries, and in each worker's memory, and deserialised after.
//
// It compiles as Jest 30 does, with a `vm.Script` where Jest calls `vm.compileFunction` (only a script can give its code
// back to the cache): the same wrapper parameters, in the test file's context, each line where Jest would have it (the
// wrapper's own line is line -1), so stack traces and source maps point where they did. Left to Jest as it is: Node's
// core modules, a source with a dynamic `import()` (`DYNAMIC_IMPORT`), and a source that does not compile (Jest reports
// the syntax error).
'use strict';
const { mkdirSync } = require('node:fs');
const { join } = require('node:path');
const vm = require('node:vm');
const Runtime = require('jest-runtime').default;
const { codeCacheIn, DYNAMIC_IMPORT } = require('../v8-code-cache');

const DIR = process.env.COUNTERSIGN_REGISTER_CACHE || join(__dirname, '../../node_modules/.cache/countersign-register');
let writable = true;
try {
  mkdirSync(DIR, { recursive: true });
} catch {
  writable = false;
}
const cache = codeCacheIn(DIR, () => writable);
// Each worker keeps what it read or wrote: its next test file loads mostly the same modules.
const known = new Map();
const unwritten = new Map();

class CodeCachingRuntime extends Runtime {
  createScriptFromCode(source, filename) {
    const context = this._environment.getVmContext();
    if (context == null || this._resolver.isCoreModule(filename) || DYNAMIC_IMPORT.test(source)) return super.createScriptFromCode(source, filename);
    const wrapped = `(function (${this.constructInjectedModuleParameters().join(', ')}) {\n${source}\n})`;
    const entry = known.get(filename)?.source === wrapped ? known.get(filename).entry : cache.lookup(filename, wrapped);
    let script;
    try {
      script = new vm.Script(wrapped, { filename, lineOffset: -1, cachedData: entry.data });
    } catch {
      return super.createScriptFromCode(source, filename);
    }
    if (cache.keep(entry, script)) unwritten.set(entry.file, entry);
    known.set(filename, { source: wrapped, entry });
    return script.runInContext(context);
  }

  // The test file has run: what it compiled is written, with the functions its tests compiled.
  teardown() {
    for (const { file, data } of cache.write()) unwritten.get(file).data = data;
    unwritten.clear();
    return super.teardown();
  }
}

module.exports = CodeCachingRuntime;
