// The embedded mode notes how far each home had got in a witness folder outside the home (docs/adr/0051), by default in
// the user's state folder. Each test file gets its own, so that homes copied by one file's tests (a backup, a restore)
// are judged against what that file ran, and nothing is left in the machine's state folder.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

process.env.COUNTERSIGN_WITNESS_DIR = mkdtempSync(join(tmpdir(), 'countersign-witness-'));
afterAll(() => require('node:fs').rmSync(process.env.COUNTERSIGN_WITNESS_DIR, { recursive: true, force: true }));
