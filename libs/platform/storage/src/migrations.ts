import { readdirSync } from 'node:fs';
import { Client, ClientBase, Pool, PoolClient } from 'pg';
import type * as PgMigrate from 'node-pg-migrate/dist/bundle/index';

// node-pg-migrate publishes its types only through package.json `exports`, which the workspace's
// `moduleResolution: node` does not read: the types come from their file, the module from its public name.
const { runner } = require('node-pg-migrate') as typeof PgMigrate;

/** One service's schema history: its versioned SQL files and the session settings they read. */
export interface ServiceMigrations {
  /** Names the history table (`<service>_migrations`): services sharing a database keep separate histories. */
  service: string;
  /** The folder of `NNNN_name.sql` files (node-pg-migrate's SQL format), applied in name order. */
  dir: string;
  /** Session settings for the migrations to read with `current_setting(name)`, e.g. a role to grant to. */
  settings?: Record<string, string>;
  /**
   * What to do with a database a newer version migrated (`NewerSchemaError`): unset, refuse to start (the embedded
   * mode's home); set, hear of it and start (a distributed service being rolled back: `startOnNewerSchema`).
   */
  onNewer?: (e: NewerSchemaError) => void;
}

/**
 * The database holds migrations of a service that its folder does not: a newer Countersign migrated it. An older one
 * run on it (a rollback) started without a word, and went on writing what the newer one had stopped writing, such as
 * raw digests into the audit log (upgrade probe, 2026-12-05): refused instead, naming them.
 */
export class NewerSchemaError extends Error {
  constructor(
    readonly service: string,
    readonly migrations: string[],
  ) {
    super(
      `the database holds ${service} migrations this version does not know (${migrations.join(', ')}): a newer Countersign used it; run that version, or restore a backup made before it`,
    );
  }
}

/**
 * Applies a service's pending migrations, all in one transaction, and returns their names. Instances that
 * boot at once wait for each other (an advisory lock), so each migration runs once. `url` is the schema
 * owner's connection, or a pool to borrow one from (the embedded database).
 */
export async function migrate(url: string | Pool, m: ServiceMigrations, log: (msg: string) => void = () => undefined): Promise<string[]> {
  // A pool (the embedded database's one session) lends its connection; a URL gets a connection of its own.
  const client: ClientBase = typeof url === 'string' ? new Client({ connectionString: url }) : await url.connect();
  if (typeof url === 'string') {
    // The server going away mid-migration fails the statement (and the boot); it must not also crash on an unheard 'error'.
    (client as Client).on('error', () => undefined);
    await (client as Client).connect();
  }
  try {
    for (const [name, value] of Object.entries(m.settings ?? {})) await client.query('SELECT set_config($1, $2, false)', [name, value]);
    const migrationsTable = `${m.service.replace(/-/g, '_')}_migrations`;
    const newer = await unknownMigrations(client, migrationsTable, m.dir);
    if (newer.length) {
      const e = new NewerSchemaError(m.service, newer);
      if (!m.onNewer) throw e;
      m.onNewer(e);
    }
    const ran = await runner({
      dbClient: client,
      dir: m.dir,
      migrationsTable,
      direction: 'up',
      singleTransaction: true,
      advisoryLockMode: 'wait',
      log,
    });
    return ran.map((r) => r.name);
  } finally {
    if (typeof url === 'string') await (client as Client).end();
    else (client as PoolClient).release();
  }
}

/** The migrations `table` records that `dir` has no file for (none when the table does not exist yet). */
async function unknownMigrations(client: ClientBase, table: string, dir: string): Promise<string[]> {
  const { rows } = await client.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [table]);
  if (!rows[0]?.found) return [];
  const known = new Set(readdirSync(dir).map((f) => f.replace(/\.[^.]+$/, '')));
  const applied = await client.query<{ name: string }>(`SELECT name FROM "${table}" ORDER BY name`);
  return applied.rows.map((r) => r.name).filter((name) => !known.has(name));
}

/**
 * A distributed service's answer to a database a newer version migrated: said at error, with an alert, and the service
 * starts. Refusing would block a rollback of a deployment (`kubectl rollout undo`) and an older instance restarting in
 * the middle of a rolling update, an operator's tools in an incident; the embedded mode refuses (ADR 0009 addendum).
 */
export const startOnNewerSchema =
  (logger: { error(fields: object, message: string): void }) =>
  (e: NewerSchemaError): void =>
    logger.error(
      { alert: 'schema-newer-than-version', service: e.service, migrations: e.migrations },
      `${e.message}; starting anyway, as a rollback: what the newer version changed is undone while this one runs`,
    );
