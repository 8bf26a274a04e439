// Run by `openEmbeddedDatabase` as a child process (plain Node, outside the caller's process): makes a new PGlite
// data directory at argv[2]. PGlite's initdb leaves ~800 MB of WASM memory behind in the process that ran it, so
// it runs here, and what it made is kept as a machine-wide template (OS temp folder, per PGlite version): the next
// new directory is a copy (~0.1 s) instead of another initdb (2–7 s). The template is a cache: safe to delete.
const { cpSync, existsSync, renameSync, rmSync, readFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');

async function main(target) {
  const entry = require.resolve('@electric-sql/pglite');
  const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8'));
  const template = join(tmpdir(), `countersign-pglite-${version}-template`);
  if (existsSync(join(template, 'PG_VERSION'))) {
    cpSync(template, target, { recursive: true });
    return;
  }
  const db = await require(entry).PGlite.create(target);
  await db.close();
  // Renamed into place whole, so a reader never sees half a template; best effort (another process may win).
  const staging = `${template}.${process.pid}`;
  try {
    cpSync(target, staging, { recursive: true });
    renameSync(staging, template);
  } catch {
    rmSync(staging, { recursive: true, force: true });
  }
}

main(process.argv[2]).then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
