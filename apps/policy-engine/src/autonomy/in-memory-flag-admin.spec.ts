import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileFlagAdmin } from './file-flag-admin';
import { flagAdminSuite } from './flag-admin.suite';
import { InMemoryFlagAdmin } from './in-memory-flag-admin';

// real: the in-memory twin, and the flag file admin on a real file; fake: nothing.
flagAdminSuite('in-memory', async () => ({ admin: new InMemoryFlagAdmin(), prefix: 'cs.' }), { keepsHistory: true });

flagAdminSuite(
  'flag file',
  async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cs-flag-admin-')), 'flags.json');
    writeFileSync(path, JSON.stringify({ version: 1, features: [] }));
    return { admin: createFileFlagAdmin(path), prefix: 'cs.' };
  },
  { keepsHistory: false },
);
