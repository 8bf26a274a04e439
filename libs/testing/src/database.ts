import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { migrate, type ServiceMigrations } from '@countersign/storage';
import { uniqueName } from './env';

/** `url` (a PostgreSQL connection string) pointing at database `db` instead. */
export const withDatabase = (url: string, db: string) => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

/** Retries `run` while PostgreSQL says the database is still in use (a closed pool's backends exit a moment later). */
async function whileInUse<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (!/being accessed by other users/.test((e as Error).message) || attempt >= 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function adminClient(): Promise<Client> {
  const admin = new Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  return admin;
}

/** Every service's migrations (`apps/<service>/migrations`), as the services apply them to the database they share. */
function serviceMigrations(auditRole: string): ServiceMigrations[] {
  const apps = join(__dirname, '../../../apps');
  return readdirSync(apps)
    .filter((app) => existsSync(join(apps, app, 'migrations')))
    .sort()
    .map((service) => ({ service, dir: join(apps, service, 'migrations'), settings: { 'countersign.audit_role': auditRole } }));
}

let template: Promise<string> | undefined;

/**
 * The database every test database is cloned from, migrated once per set of migration files (its name is their
 * hash): the first test process to need it builds it under a lock, the others reuse it, and later runs too.
 */
async function migratedTemplate(): Promise<string> {
  const auditRole = new URL(process.env.AUDIT_DATABASE_URL!).username;
  const all = serviceMigrations(auditRole);
  const hash = createHash('sha256').update(auditRole);
  for (const m of all) for (const file of readdirSync(m.dir).sort()) hash.update(`\0${m.service}/${file}\0`).update(readFileSync(join(m.dir, file)));
  const name = `countersign_template_${hash.digest('hex').slice(0, 16)}`;
  const admin = await adminClient();
  try {
    await admin.query("SELECT pg_advisory_lock(hashtext('countersign test template'))");
    if ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount) return name;
    // Built under another name and renamed when complete: a crash mid-build never leaves a half-migrated template.
    const building = uniqueName('countersign_building');
    await admin.query(`CREATE DATABASE "${building}"`);
    try {
      for (const m of all) await migrate(withDatabase(process.env.DATABASE_URL!, building), m);
      await whileInUse(() => admin.query(`ALTER DATABASE "${building}" RENAME TO "${name}"`));
    } catch (e) {
      await admin.query(`DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`).catch(() => undefined);
      throw e;
    }
    // Templates of older migrations go (one being cloned right now stays; its users rebuild if it is gone).
    const stale = await admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'countersign\\_template\\_%' AND datname <> $1", [name]);
    for (const { datname } of stale.rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}"`).catch(() => undefined);
    return name;
  } finally {
    await admin.end();
  }
}

/**
 * A fresh PostgreSQL database for one test, owned by the app role and cloned from the migrated template (every
 * service's tables, triggers and grants); `urlFor` gives the same database under another role's URL (e.g. the
 * restricted audit role). `drop()` removes it.
 */
export async function createTestDatabase(prefix = 'test') {
  const name = uniqueName(prefix);
  const admin = await adminClient();
  try {
    const clone = async () => whileInUse(async () => admin.query(`CREATE DATABASE "${name}" TEMPLATE "${await (template ??= migratedTemplate())}"`));
    await clone().catch(async (e: Error) => {
      // Another run replaced the template since this process looked it up: look it up again.
      if (!/template database .* does not exist/.test(e.message)) throw e;
      template = undefined;
      await clone();
    });
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(process.env.DATABASE_URL!, name),
    urlFor: (roleUrl: string) => withDatabase(roleUrl, name),
    /** Drops it once the sessions closed by the test are gone. */
    drop: async () => {
      const c = await adminClient();
      try {
        await whileInUse(() => c.query(`DROP DATABASE IF EXISTS "${name}"`));
      } finally {
        await c.end();
      }
    },
  };
}
