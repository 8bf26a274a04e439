import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTreeHeadKey, KeyRing } from '@countersign/audit-chain';
import { FileHeadStore } from '../chain/file-head-store';
import { auditEntry } from '../log-store/audit-log.suite';
import { FileAuditLogRepository } from '../log-store/file-audit-log.repository';
import { runAuditCli } from './main';

// real: the embedded mode's file store, head store and key files on a temporary directory, the CLI as
// operators run it; fake: nothing (no database: `verify --file` reads the embedded audit file only).

/** An embedded home's `audit/` as the embedded mode writes it: 25 entries, heads at 10, 20 and 25. */
async function embeddedAudit() {
  const dir = join(mkdtempSync(join(tmpdir(), 'audit-file-')), 'audit');
  const file = join(dir, 'audit.jsonl');
  const log = new FileAuditLogRepository(file);
  const key = generateTreeHeadKey('embedded-heads-1', new Date('2026-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
  const ring = new KeyRing([key.entry]);
  const headStore = new FileHeadStore(join(dir, 'heads'));
  const keysDir = join(dir, 'keys');
  mkdirSync(keysDir);
  const publicKey = { keyId: key.entry.keyId, publicKeyPem: key.publicPem, notBefore: key.entry.notBefore, notAfter: key.entry.notAfter };
  writeFileSync(join(keysDir, `${key.entry.keyId}.json`), JSON.stringify(publicKey));
  for (const [from, to] of [
    [0, 10],
    [10, 20],
    [20, 25],
  ]) {
    const tip = await log.appendBatch(Array.from({ length: to - from }, (_, i) => auditEntry(`e${from + i}`, `a${(from + i) % 4}`, { data: { n: from + i } })));
    const head = ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-11-24T10:00:00Z'));
    await log.saveHead(head);
    headStore.write(head);
  }
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runAuditCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const lines = () => readFileSync(file, 'utf8').trimEnd().split('\n');
  const rewrite = (ls: string[], path = file) => writeFileSync(path, `${ls.join('\n')}\n`);
  return { dir, file, keysDir, ring, run, lines, rewrite, verify: () => run('verify', '--file', file, '--keys', keysDir) };
}

describe('countersign audit verify --file, on the embedded audit file', () => {
  it('verifies an untouched audit.jsonl with the heads beside it and in its head store', async () => {
    const { verify } = await embeddedAudit();
    expect(await verify()).toMatchObject({ code: 0, out: expect.stringMatching(/^verified: 25 entries, 3 signed heads, root [0-9a-f]{64}$/) });
  });

  it('names a modified, a deleted and an inserted entry by index', async () => {
    const a = await embeddedAudit();
    const ls = a.lines();
    a.rewrite(ls.map((l, i) => (i === 12 ? l.replace('"n":12', '"n":999') : l)));
    expect(await a.verify()).toMatchObject({ code: 1, out: 'FAILED at index 12: entry 12 does not match its recorded leaf hash: modified' });
    a.rewrite(ls.filter((_, i) => i !== 5));
    expect(await a.verify()).toMatchObject({ code: 1, out: 'FAILED at index 5: entry 5 is missing (found 6)' });
    a.rewrite([...ls.slice(0, 7), ls[7], ...ls.slice(7)]);
    const twice = 'FAILED at index 7: entry 7 appears twice (again at position 8): an entry was inserted or repeated at 7';
    expect(await a.verify()).toMatchObject({ code: 1, out: twice });
    a.rewrite([...ls.slice(0, 3), '{"index":3,', ...ls.slice(4)]);
    expect(await a.verify()).toMatchObject({ code: 1, out: 'FAILED at index 3: the line of entry 3 does not parse' });
  });

  it('finds a file cut exactly at a head through the head store, and a forged head there by its signature', async () => {
    const a = await embeddedAudit();
    a.rewrite(a.lines().slice(0, 20));
    a.rewrite(readFileSync(join(a.dir, 'tree-heads.jsonl'), 'utf8').trimEnd().split('\n').slice(0, 2), join(a.dir, 'tree-heads.jsonl'));
    expect(await a.verify()).toMatchObject({ code: 1, out: 'FAILED at index 20: truncated: the signed tree head covers 25 entries, only 20 are present' });
    const genuine = a.ring.sign(40, Buffer.alloc(32), new Date('2026-11-24T10:00:00Z'));
    const forged = { ...genuine, signature: Buffer.from('forged'.repeat(11)).toString('base64') };
    writeFileSync(join(a.dir, 'heads', 'forged.json'), JSON.stringify(forged));
    expect(await a.verify()).toMatchObject({ code: 1, out: 'FAILED at index 20: tree head of size 40 has an invalid signature' });
  });

  it('points from --segment to --file for an audit.jsonl, and takes one source only', async () => {
    const a = await embeddedAudit();
    expect(await a.run('verify', '--segment', a.file, '--keys', a.keysDir)).toMatchObject({
      code: 1,
      out: "FAILED at index 0: not a version 1 or 2 segment file: it looks like the embedded mode's audit.jsonl, verify it with --file",
    });
    const both = await a.run('verify', '--file', a.file, '--segment', a.file, '--keys', a.keysDir);
    expect(both).toMatchObject({ code: 2, err: expect.stringContaining('verify takes one of') });
  });
});
