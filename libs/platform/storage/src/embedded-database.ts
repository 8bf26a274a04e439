import { execFile } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { Pool } from 'pg';
import type { PGlite as PGliteType } from '@electric-sql/pglite/dist/index';
import type * as PgliteNodePostgres from '@electric-sql/pglite/dist/node-postgres/index';

/**
 * Refused: the database folder is there but is not a whole PGlite database (no `PG_VERSION`). It may still hold
 * real records, so it is never deleted or overwritten; the message says which folder and what to do.
 */
export class EmbeddedDatabaseDirError extends Error {
  override name = 'EmbeddedDatabaseDirError';
}

/** An embedded PostgreSQL (PGlite) in a folder, and the one `pg` pool over its one session. */
export interface EmbeddedDatabase {
  /** A node-postgres pool of one connection: every repository of the process shares it (PGlite has one session). */
  pool: Pool;
  /** Whether this open created the database (a first start). */
  created: boolean;
  close(): Promise<void>;
}

/**
 * Working memory of the embedded PostgreSQL. PGlite's default (128 MB of shared buffers) touches more pages as
 * tables grow; the embedded mode's tables are small and its files stay in the OS cache, so 4 MB keeps the process
 * near its memory budget (measured: ~+50 MB over the in-memory stores after start, and no slower than 16 MB).
 */
const SHARED_BUFFERS = '4MB';

let wasmTierSet = false;

/**
 * Opens (or creates) the PGlite database in `dir` and a `pg` pool over it, so the distributed mode's SQL, its
 * migrations (`migrate(pool, …)`) and its `pg-*` repositories serve the embedded mode unchanged. The caller
 * makes sure one process at a time opens `dir` (PGlite does not lock its data directory).
 *
 * A new database is made by a short-lived child process: PGlite's initdb leaves ~800 MB of WASM memory in the
 * process that ran it (it is never returned), while reopening a made one costs ~0.3 s and a fraction of that.
 * The child writes to a temporary sibling folder renamed to `dir` once complete, so `dir` exists only whole: a first start
 * killed mid-way leaves only that sibling, removed by the next start. A `dir` that holds files but no `PG_VERSION` was
 * not made that way (damaged, or edited by hand): it is refused, untouched (`EmbeddedDatabaseDirError`).
 * What initdb made is kept as a machine-wide template (in the OS temp folder, per PGlite version) and copied
 * for the next new database (`create-pglite-dir.js`): tests start many homes.
 */
export async function openEmbeddedDatabase(dir: string, options: { onPanic?: (e: Error) => void } = {}): Promise<EmbeddedDatabase> {
  let created = false;
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    await createDatabaseDir(dir);
    created = true;
  }
  if (!wasmTierSet) {
    // PostgreSQL's WASM compiled by V8's baseline compiler only (Liftoff): ~50 MB less resident code than with the
    // optimising tier, a faster open, and (measured here) no slower for the embedded mode's short queries.
    // Process-wide, but only WebAssembly is affected, and PGlite is the process's only WebAssembly.
    setFlagsFromString('--liftoff-only');
    wasmTierSet = true;
  }
  const { PGlite } = require('@electric-sql/pglite') as { PGlite: typeof PGliteType };
  const { createPgConfig } = require('@electric-sql/pglite/node-postgres') as typeof PgliteNodePostgres;
  const db = await PGlite.create(dir, { startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`] });
  const pool = new Pool({ ...createPgConfig(db), max: 1 });
  // A PANIC (PostgreSQL could not write its log: a read-only remount, a failing disk) leaves PGlite spinning in the
  // process, answering nothing and deaf to SIGINT (disk probe, 2026-12-05): `onPanic` is told at once, with the error.
  const onPanic = options.onPanic;
  if (onPanic)
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      const check = (e: unknown) => {
        if ((e as { severity?: unknown } | null)?.severity === 'PANIC') onPanic(e as Error);
      };
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        // The pool calls it with a callback; repositories on a connection of their own, for a promise.
        const last = args.length - 1;
        const callback = args[last];
        if (typeof callback === 'function')
          args[last] = (e: unknown, ...rest: unknown[]) => {
            check(e);
            return (callback as (...a: unknown[]) => unknown)(e, ...rest);
          };
        const result = query(...args);
        if (result instanceof Promise) result.then(undefined, check);
        return result;
      };
    });
  return {
    pool,
    created,
    close: async () => {
      await pool.end();
      await db.close();
    },
  };
}

async function createDatabaseDir(dir: string): Promise<void> {
  refuseIncomplete(dir);
  const parent = dirname(dir);
  const prefix = `${basename(dir)}.new-`;
  // Leftovers of a creation that was killed mid-way: never renamed into place, so never opened, so nothing real in them.
  if (existsSync(parent)) for (const f of readdirSync(parent)) if (f.startsWith(prefix)) rmSync(join(parent, f), { recursive: true, force: true });
  const tmp = join(parent, `${prefix}${process.pid}`);
  await promisify(execFile)(process.execPath, [join(__dirname, 'create-pglite-dir.js'), tmp], { timeout: 120_000 }).catch((e: Error) => {
    // Not left taking the space it failed for (a full disk), nor for the next start to find.
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  });
  // An empty folder (made by hand, or by a version that ran initdb in place and died before writing anything) goes;
  // rmdir removes only an empty one, so a file that appeared meanwhile makes it fail rather than be lost.
  if (existsSync(dir)) rmdirSync(dir);
  renameSync(tmp, dir);
}

/** Throws unless `dir` is absent or an empty folder: those are the only states a new database may replace. */
function refuseIncomplete(dir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new EmbeddedDatabaseDirError(`the database folder ${dir} cannot be read: ${(e as Error).message}`);
  }
  if (!isDir) throw new EmbeddedDatabaseDirError(`the database folder ${dir} is a file, not a folder: move it aside (mv ${dir} ${dir}.moved) and start again`);
  if (readdirSync(dir).length === 0) return;
  throw new EmbeddedDatabaseDirError(
    `the database folder ${dir} holds files but no PG_VERSION: it is damaged or not a PGlite database, and it may hold records, so it is left as it is. ` +
      `Move it aside (mv ${dir} ${dir}.damaged) to start with a new, empty database, or restore it from a backup.`,
  );
}
