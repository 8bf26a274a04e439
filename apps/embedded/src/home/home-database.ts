import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BROKER_STORE_MIGRATIONS } from '@countersign/bus';
import { EXECUTOR_MIGRATIONS_DIR } from '@countersign/executor';
import { ORCHESTRATOR_MIGRATIONS_DIR } from '@countersign/orchestrator';
import { POLICY_ENGINE_MIGRATIONS_DIR } from '@countersign/policy-engine';
import { REVIEW_QUEUE_MIGRATIONS_DIR } from '@countersign/review-queue';
import { EmbeddedDatabase, EmbeddedDatabaseDirError, migrate, ServiceMigrations, openEmbeddedDatabase } from '@countersign/storage';
import { StartRefusedError } from './start-checks';

/** The embedded host's own tables (its rate-limit windows). */
export const EMBEDDED_MIGRATIONS = join(__dirname, '../../migrations');

/**
 * Every schema the embedded mode keeps in its one database, each with its own history as in the distributed
 * mode (the same files): the broker's log, the services' records of truth, the host's own tables.
 */
const SCHEMAS: ServiceMigrations[] = [
  { service: 'bus', dir: BROKER_STORE_MIGRATIONS },
  { service: 'embedded', dir: EMBEDDED_MIGRATIONS },
  { service: 'orchestrator', dir: ORCHESTRATOR_MIGRATIONS_DIR },
  { service: 'policy-engine', dir: POLICY_ENGINE_MIGRATIONS_DIR },
  { service: 'review-queue', dir: REVIEW_QUEUE_MIGRATIONS_DIR },
  { service: 'executor', dir: EXECUTOR_MIGRATIONS_DIR },
];

/**
 * The home's database (`<home>/db`, PGlite), migrated. The caller holds the home's lock: PGlite has none.
 */
export async function openHomeDatabase(home: string, log: (msg: string) => void, onPanic?: (e: Error) => void): Promise<EmbeddedDatabase> {
  const dir = join(home, 'db');
  const existed = existsSync(dir);
  const db = await openEmbeddedDatabase(dir, { onPanic }).catch((e: Error) => {
    // A damaged database folder, refused and kept as it is: the operator moves it aside (the message says how).
    if (e instanceof EmbeddedDatabaseDirError) throw new StartRefusedError(e.message);
    // A database that was there and does not open (red team: random bytes in global/pg_control gave "RuntimeError:
    // Aborted()" and a stack) is the same: its folder named, in one line, kept as it is.
    if (existed)
      throw new StartRefusedError(
        `the database folder ${dir} cannot be opened (${e.message.split('\n')[0]}): restore it from a backup, or start a new home (another COUNTERSIGN_HOME)`,
      );
    // One the machine cannot make (a full disk, a read-only mount, descriptors used up): said in one line, not a stack
    // (disk probe, 2026-12-05).
    // The folder is made by a child process (a copy of a template): its system error is in its message.
    const system = /\b(E[A-Z]{2,}: [^\n]*)/.exec(e.message)?.[1];
    if (system) throw new StartRefusedError(`the database folder ${dir} cannot be made (${system}): free the disk or fix the folder, then start again`);
    throw e;
  });
  try {
    for (const schema of SCHEMAS) await migrate(db.pool, schema, log);
  } catch (e) {
    await db.close();
    throw e;
  }
  return db;
}
