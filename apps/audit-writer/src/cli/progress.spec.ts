import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTreeHeadKey, KeyRing } from '@countersign/audit-chain';
import { auditEntry } from '../log-store/audit-log.suite';
import { FileAuditLogRepository } from '../log-store/file-audit-log.repository';

// real: `npm run countersign -- audit verify --file` as an operator runs it on an embedded audit file, once with
// stderr on a pseudo-terminal (util-linux `script`) and once piped; fake: nothing.
const root = join(__dirname, '../../../..');
const env = { ...process.env, SWC_NODE_PROJECT: join(root, 'tsconfig.json') };
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** An embedded `audit/` of 30 entries with one signed head, and its public key. */
async function auditFile() {
  const dir = join(mkdtempSync(join(tmpdir(), 'audit-progress-')), 'audit');
  const file = join(dir, 'audit.jsonl');
  const log = new FileAuditLogRepository(file);
  const key = generateTreeHeadKey('progress-heads-1', new Date('2026-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
  const tip = await log.appendBatch(Array.from({ length: 30 }, (_, i) => auditEntry(`e${i}`, `a${i % 3}`, { data: { n: i } })));
  await log.saveHead(new KeyRing([key.entry]).sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-11-24T10:00:00Z')));
  const keysDir = join(dir, 'keys');
  mkdirSync(keysDir);
  writeFileSync(
    join(keysDir, 'heads.json'),
    JSON.stringify({ keyId: key.entry.keyId, publicKeyPem: key.publicPem, notBefore: key.entry.notBefore, notAfter: key.entry.notAfter }),
  );
  return ['-r', join(root, 'tools/register.js'), join(root, 'tools/countersign.ts'), 'audit', 'verify', '--file', file, '--keys', keysDir];
}

describe('audit verify progress', () => {
  it('is drawn on stderr when stderr is a terminal', async () => {
    const args = await auditFile();
    // stdout to /dev/null inside the terminal: what the terminal shows is stderr alone.
    const command = `${[process.execPath, ...args].map(quote).join(' ')} > /dev/null`;
    const run = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: root, env, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/\raudit verify: entries verified: \d+/);
  });

  it('draws no progress when stderr is not a terminal: the verdict alone on stdout, the keys to compare on stderr', async () => {
    const run = spawnSync(process.execPath, await auditFile(), { cwd: root, env, encoding: 'utf8' });
    expect(run.stderr).not.toContain('\r');
    expect(run.stderr).not.toContain('entries verified');
    expect(run.stderr).toMatch(/^warning: the tree-head keys were taken from .* and are not pinned/);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^verified: 30 entries, 1 signed head, root [0-9a-f]{64}\n$/);
  });
});
