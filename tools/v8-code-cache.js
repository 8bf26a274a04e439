// V8's code cache on disk: a script compiled before is deserialised instead of compiled again. Used by the processes
// tools/register.js loads (the packages' CommonJS files) and by Jest's workers (tools/jest/code-caching-runtime.js,
// every module a test file loads, again in each file). Node 20 has no `module.enableCompileCache`; this is what its
// `vm.Script` `cachedData` allows.
'use strict';
const { createHash } = require('node:crypto');
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { cachedDataVersionTag } = require('node:v8');

// An `import(…)` (or the text of one, for `eval`): such a source is left uncached. A script's own `importModuleDynamically`
// is lost when V8 takes its code from the cache (Node 20: ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING). 73 of the 1,666 files
// the embedded mode loads.
const DYNAMIC_IMPORT = /\bimport\s*(\(|\/[*/])/;

/**
 * The cache in `dir`. An entry is keyed by the file's name and its exact source (V8 itself checks only the length),
 * Node's version and V8's flags; V8 checks it again, and one it rejects is written anew. `isWritable` is asked before
 * anything is kept: a checkout the process may not write to compiles each time.
 */
function codeCacheIn(dir, isWritable = () => true) {
  const salt = createHash('sha256').update(`${process.version}\0${process.arch}\0${cachedDataVersionTag()}\0`);
  const unwritten = [];
  return {
    /** Where `source`, compiled as `filename`, is kept, and what is kept there (undefined: nothing yet). */
    lookup(filename, source) {
      const file = join(dir, `${salt.copy().update(filename).update('\0').update(source).digest('hex')}.v8`);
      try {
        return { file, data: readFileSync(file) };
      } catch {
        return { file, data: undefined };
      }
    },
    /**
     * Notes `script` (compiled with `entry.data`, if any) to be written by `write`, where the entry had nothing or V8
     * refused it. Returns whether it was noted.
     */
    keep(entry, script) {
      if ((entry.data && !script.cachedDataRejected) || !isWritable()) return false;
      unwritten.push({ file: entry.file, script });
      return true;
    },
    /**
     * Writes what was noted, with the functions compiled since (lazily, as the code ran), and returns it. Another process
     * may write the same entry at the same moment: each writes its own file, then renames it.
     */
    write() {
      const written = [];
      for (const { file, script } of unwritten.splice(0)) {
        const data = script.createCachedData();
        const tmp = `${file}.${process.pid}.tmp`;
        try {
          writeFileSync(tmp, data);
          renameSync(tmp, file);
        } catch {
          break; // a full disk or a cache gone: compiled each time, as without it
        }
        written.push({ file, data });
      }
      return written;
    },
  };
}

module.exports = { codeCacheIn, DYNAMIC_IMPORT };
