import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { generateTreeHeadKey, KeyRing } from '@countersign/audit-chain';
import { InMemoryBus, isDependencyFailure } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { createPgPool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import { runAuditCli } from '../cli/main';
import { auditEntry } from '../log-store/audit-log.suite';
import { PgAuditLogRepository } from '../log-store/pg-audit-log.repository';
import { AuditChainService } from './audit-chain.service';
import { FileHeadStore } from './file-head-store';

// real: PostgreSQL (the restricted audit role), the chain service, the in-memory bus, the head store on a temporary
// directory, the CLI as operators run it; fake: nothing.
jest.setTimeout(60_000);
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

/** A database of its own with the audit schema, its log, and a tree-head key valid around now. */
async function freshLog(name: string, keyId: string) {
  const db = await createTestDatabase(name);
  const url = db.urlFor(process.env.AUDIT_DATABASE_URL!);
  const pool = createPgPool(url, 2);
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  const key = generateTreeHeadKey(keyId, new Date('2026-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
  return { url, log: new PgAuditLogRepository(pool), key, ring: new KeyRing([key.entry]) };
}

describe('AuditChainService on PostgreSQL: what its load finds is recorded in the log (red team, 2026-12-04)', () => {
  it('records entries past the newest signed head before anything else, a head signs the record, and audit verify --database lists it', async () => {
    const { url, log, key, ring } = await freshLog('auditrecovery', 'heads-recovery');
    // A writer killed before its next head: e0, e1 under a head, e2 past it.
    const tip = await log.appendBatch([auditEntry('e0', 'a1'), auditEntry('e1', 'a1')]);
    await log.saveHead(ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date()));
    await log.appendBatch([auditEntry('e2', 'a1')]);

    const dir = mkdtempSync(join(tmpdir(), 'audit-recovery-'));
    const bus = new InMemoryBus({ logger: pino({ level: 'silent' }), source: 'audit-writer' });
    const service = new AuditChainService(
      log,
      ring,
      new FileHeadStore(join(dir, 'heads')),
      { everyEntries: 100, everyMs: 60_000 },
      bus,
      pino({ level: 'silent' }),
    );
    await service.onApplicationBootstrap();
    await service.append(auditEntry('e3', 'a1'));
    await service.onApplicationShutdown();

    const logged = (await log.range(0, 5)).map((e) => JSON.parse(e.bytes!) as { eventId: string; eventType: string; data: unknown });
    expect(logged.map((e) => (e.eventType === TOPICS.logRecovered ? e.data : e.eventId))).toEqual([
      'e0',
      'e1',
      'e2',
      { kind: 'unsigned-tail', from: 2, to: 2 },
      'e3',
    ]);
    // A store written by several instances records no clean stop: another instance may go on appending.
    expect((await log.tip()).size).toBe(5);
    expect((await log.heads()).map((h) => h.treeSize)).toEqual([2, 5]);

    const keysFile = join(dir, 'keys.json');
    writeFileSync(
      keysFile,
      JSON.stringify([{ keyId: key.entry.keyId, publicPem: key.publicPem, notBefore: key.entry.notBefore, notAfter: key.entry.notAfter }]),
    );
    const out: string[] = [];
    const err: string[] = [];
    const code = await runAuditCli(['verify', '--database', url, '--keys', keysFile, '--heads-dir', join(dir, 'heads')], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    });
    // The verdict names the entry adopted unsigned (ADR 0005, addendum of 2026-12-05).
    expect({ code, out }).toEqual({
      code: 0,
      out: [
        expect.stringMatching(
          /^verified: 5 entries, 2 signed heads, root [0-9a-f]{64}; 1 entry \(2\) adopted unsigned after an unclean stop: no signature vouches the writer wrote it \(stderr\)$/,
        ),
      ],
    });
    expect(err).toContain('  entry 3 (unsigned-tail): entries 2..2 were past every signed head when the writer started, and were adopted as they were');
  });

  it('loads nothing over a head row its keys do not verify, inserted by someone with the writer’s role but not its key (red team, 2026-12-07)', async () => {
    const { log, ring } = await freshLog('auditforgedhead', 'heads-genuine');
    const tip = await log.appendBatch([auditEntry('e0', 'a1')]);
    await log.saveHead(ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date()));
    // Rows of their own, and a head over them signed with a key of their own: as signed history, they would raise no alert.
    const forgedTip = await log.appendBatch([auditEntry('forged', 'a1')]);
    const forger = new KeyRing([generateTreeHeadKey('heads-genuine', new Date('2026-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z')).entry]);
    await log.saveHead(forger.sign(forgedTip.size, Buffer.from(forgedTip.root, 'hex'), new Date()));

    const lines: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'audit-forged-head-'));
    const service = new AuditChainService(
      log,
      ring,
      new FileHeadStore(join(dir, 'heads')),
      { everyEntries: 100, everyMs: 60_000 },
      new InMemoryBus({ logger: pino({ level: 'silent' }), source: 'audit-writer' }),
      pino({ level: 'error' }, { write: (l: string) => void lines.push(l) }),
    );
    await service.onApplicationBootstrap();
    expect(isDependencyFailure(await service.append(auditEntry('e2', 'a1')).catch((e: unknown) => e))).toBe(true);
    await service.onApplicationShutdown();
    expect((await log.tip()).size).toBe(2);
    expect((await log.heads()).map((h) => h.treeSize)).toEqual([1, 2]);
    expect(lines.map((l) => JSON.parse(l) as { alert?: string }).filter((l) => l.alert === 'audit-head-unverified')).toHaveLength(1);
  });
});
