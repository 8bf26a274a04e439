import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { migrate, NewerSchemaError, startOnNewerSchema } from './migrations';

// real: PostgreSQL and node-pg-migrate; fake: nothing. Each test gets an empty database of its own (not the
// migrated template of @countersign/testing, which itself depends on this lib) and folders of SQL files.
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

async function admin<T>(run: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: process.env.DATABASE_URL });
  await c.connect();
  try {
    return await run(c);
  } finally {
    await c.end();
  }
}

async function emptyDatabase(): Promise<string> {
  const name = `migrations_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  cleanups.push(async () => {
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  });
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), `-- Up Migration\n${sql}\n`);
  return dir;
}

async function rows(url: string, sql: string): Promise<unknown[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

describe('migrate', () => {
  it('applies each pending migration once, in name order, and only the new ones on the next boot', async () => {
    const url = await emptyDatabase();
    const dir = migrationsDir({ '0002_fill.sql': "INSERT INTO notes VALUES ('first');", '0001_notes.sql': 'CREATE TABLE notes (text text NOT NULL);' });
    expect(await migrate(url, { service: 'notes', dir })).toEqual(['0001_notes', '0002_fill']);
    expect(await migrate(url, { service: 'notes', dir })).toEqual([]);
    writeFileSync(join(dir, '0003_more.sql'), "-- Up Migration\nINSERT INTO notes VALUES ('second');\n");
    expect(await migrate(url, { service: 'notes', dir })).toEqual(['0003_more']);
    expect(await rows(url, 'SELECT text FROM notes ORDER BY text')).toEqual([{ text: 'first' }, { text: 'second' }]);
    // An older version's folder (without 0003) on this database: refused, naming what it does not know (upgrade probe, 2026-12-05).
    const older = migrationsDir({ '0002_fill.sql': "INSERT INTO notes VALUES ('first');", '0001_notes.sql': 'CREATE TABLE notes (text text NOT NULL);' });
    await expect(migrate(url, { service: 'notes', dir: older })).rejects.toThrow(new NewerSchemaError('notes', ['0003_more']));
    expect(new NewerSchemaError('notes', ['0003_more']).message).toBe(
      'the database holds notes migrations this version does not know (0003_more): a newer Countersign used it; run that version, or restore a backup made before it',
    );
    // A distributed service being rolled back hears of it (said at error, with an alert) and starts.
    const said: Array<{ fields: object; message: string }> = [];
    const onNewer = startOnNewerSchema({ error: (fields, message) => said.push({ fields, message }) });
    expect(await migrate(url, { service: 'notes', dir: older, onNewer })).toEqual([]);
    expect(said).toEqual([
      {
        fields: { alert: 'schema-newer-than-version', service: 'notes', migrations: ['0003_more'] },
        message: expect.stringMatching(/0003_more.*; starting anyway, as a rollback/),
      },
    ]);
  });

  it('keeps the histories of two services sharing one database apart', async () => {
    const url = await emptyDatabase();
    const executor = migrationsDir({ '0001_init.sql': 'CREATE TABLE executor_things (id int);' });
    const audit = migrationsDir({ '0001_init.sql': 'CREATE TABLE audit_things (id int);' });
    expect(await migrate(url, { service: 'executor', dir: executor })).toEqual(['0001_init']);
    expect(await migrate(url, { service: 'audit-writer', dir: audit })).toEqual(['0001_init']);
    expect(await rows(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")).toEqual(
      ['audit_things', 'audit_writer_migrations', 'executor_migrations', 'executor_things'].map((tablename) => ({ tablename })),
    );
  });

  it('runs a migration once when several instances boot at the same moment', async () => {
    const url = await emptyDatabase();
    const dir = migrationsDir({ '0001_boots.sql': 'CREATE TABLE boots (at timestamptz); INSERT INTO boots VALUES (now());' });
    const runs = await Promise.all(Array.from({ length: 4 }, () => migrate(url, { service: 'executor', dir })));
    expect(runs.flat()).toEqual(['0001_boots']);
    expect(await rows(url, 'SELECT count(*)::int AS n FROM boots')).toEqual([{ n: 1 }]);
  });

  it('passes settings to the SQL, and applies nothing when a migration fails', async () => {
    const url = await emptyDatabase();
    const dir = migrationsDir({
      '0001_role.sql': "CREATE TABLE granted (role text); INSERT INTO granted VALUES (current_setting('countersign.audit_role'));",
      '0002_more.sql': 'CREATE TABLE more (id int);',
    });
    await expect(migrate(url, { service: 'audit-writer', dir })).rejects.toThrow(/unrecognized configuration parameter "countersign.audit_role"/);
    expect(await rows(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'audit_writer_migrations'")).toEqual([]);
    const settings = { 'countersign.audit_role': 'countersign_audit' };
    expect(await migrate(url, { service: 'audit-writer', dir, settings })).toEqual(['0001_role', '0002_more']);
    expect(await rows(url, 'SELECT role FROM granted')).toEqual([{ role: 'countersign_audit' }]);
  });
});
