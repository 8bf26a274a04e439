import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedDatabase } from './embedded-database';

// real: PGlite, its files in a temporary folder, the child process that makes a new database; fake: nothing.
describe('opening the embedded database folder', () => {
  const parent = () => mkdtempSync(join(tmpdir(), 'embedded-db-'));

  it('refuses a folder with files but no PG_VERSION and leaves every file in it (red team: it deleted a 40 MB database)', async () => {
    const dir = join(parent(), 'db');
    mkdirSync(join(dir, 'base'), { recursive: true });
    writeFileSync(join(dir, 'MARKER'), 'x');
    writeFileSync(join(dir, 'base', 'records'), 'review items');

    await expect(openEmbeddedDatabase(dir)).rejects.toThrow(`the database folder ${dir} holds files but no PG_VERSION`);
    await expect(openEmbeddedDatabase(dir)).rejects.toThrow(`mv ${dir} ${dir}.damaged`);
    expect(readdirSync(dir).sort()).toEqual(['MARKER', 'base']);
    expect(readFileSync(join(dir, 'base', 'records'), 'utf8')).toBe('review items');
  });

  it('refuses a file where the folder should be, and keeps it', async () => {
    const dir = join(parent(), 'db');
    writeFileSync(dir, 'not a folder');
    await expect(openEmbeddedDatabase(dir)).rejects.toThrow(`the database folder ${dir} is a file`);
    expect(readFileSync(dir, 'utf8')).toBe('not a folder');
  });

  it('recovers from a first start killed while making the database, then opens what it made as before', async () => {
    const home = parent();
    const dir = join(home, 'db');
    // What a creation killed mid-way leaves: its temporary sibling, half written, and no db/ (it is renamed in only whole).
    mkdirSync(join(home, 'db.new-999999', 'base'), { recursive: true });
    writeFileSync(join(home, 'db.new-999999', 'base', 'half'), '');

    const first = await openEmbeddedDatabase(dir);
    expect(first.created).toBe(true);
    await first.pool.query('CREATE TABLE kept (v text)');
    await first.pool.query("INSERT INTO kept VALUES ('still here')");
    await first.close();
    expect(readdirSync(home)).toEqual(['db']);

    const again = await openEmbeddedDatabase(dir);
    expect(again.created).toBe(false);
    expect((await again.pool.query('SELECT v FROM kept')).rows).toEqual([{ v: 'still here' }]);
    await again.close();
  });

  it('makes the database in an empty folder (made by hand, or left empty by an older version)', async () => {
    const dir = join(parent(), 'db');
    mkdirSync(dir);
    const db = await openEmbeddedDatabase(dir);
    expect(db.created).toBe(true);
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);
    await db.close();
  });
});
