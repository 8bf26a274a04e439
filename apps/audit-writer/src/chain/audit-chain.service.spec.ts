import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { generateTreeHeadKey, KeyRing, verifyEntries } from '@countersign/audit-chain';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { auditEntry } from '../log-store/audit-log.suite';
import { FileAuditLogRepository } from '../log-store/file-audit-log.repository';
import { AuditChainService } from './audit-chain.service';
import { FileHeadStore } from './file-head-store';

// real: the chain service, the file audit store, the head store, the in-memory bus; fake: nothing.
function setup(keys: KeyRing, everyEntries = 3) {
  const dir = mkdtempSync(join(tmpdir(), 'chain-'));
  const log = new FileAuditLogRepository(join(dir, 'audit.jsonl'));
  const bus = new InMemoryBus({ logger: pino({ level: 'silent' }), source: 'audit-writer' });
  const published: TopicMap[typeof TOPICS.treeHeadPublished][] = [];
  void bus.subscribe({ group: 'test.heads', handlers: { [TOPICS.treeHeadPublished]: async (e) => void published.push(e) } });
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, { write: (l: string) => void lines.push(l) });
  const service = new AuditChainService(log, keys, new FileHeadStore(join(dir, 'heads')), { everyEntries, everyMs: 60_000 }, bus, logger);
  return { service, log, published, lines, headsDir: join(dir, 'heads') };
}

describe('AuditChainService', () => {
  it('appends concurrent entries in one batch and signs a head every N entries, to the store, the head directory and the bus', async () => {
    const key = generateTreeHeadKey('k-now', new Date(Date.now() - 60_000), new Date(Date.now() + 3_600_000));
    const ring = new KeyRing([key.entry]);
    const t = setup(ring);
    await t.service.onApplicationBootstrap();
    await Promise.all(Array.from({ length: 4 }, (_, i) => t.service.append(auditEntry(`e${i}`, 'a1'))));
    const heads = await t.log.heads();
    expect(heads.map((h) => h.treeSize)).toEqual([4]);
    expect(readdirSync(t.headsDir)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(t.published.map((e) => e.data.treeSize)).toEqual([4]);
    expect(verifyEntries(await t.log.range(0, 4), heads, ring.verifierKeys())).toMatchObject({ ok: true, treeSize: 4 });
    await t.service.onApplicationShutdown();
  });

  it('signs a final head on shutdown, so a log stopped right after its last entry verifies whole', async () => {
    const key = generateTreeHeadKey('k-now', new Date(Date.now() - 60_000), new Date(Date.now() + 3_600_000));
    const ring = new KeyRing([key.entry]);
    const t = setup(ring, 100);
    await t.service.onApplicationBootstrap();
    await Promise.all(Array.from({ length: 2 }, (_, i) => t.service.append(auditEntry(`e${i}`, 'a1'))));
    expect(await t.log.heads()).toEqual([]);
    await t.service.onApplicationShutdown();
    const heads = await t.log.heads();
    expect(heads.map((h) => h.treeSize)).toEqual([2]);
    expect(verifyEntries(await t.log.range(0, 2), heads, ring.verifierKeys())).toMatchObject({ ok: true, treeSize: 2 });
  });

  it('past the key rotation deadline: keeps recording entries, stops signing heads, alerts, reports unhealthy', async () => {
    const expired = generateTreeHeadKey('k-old', new Date(Date.now() - 7_200_000), new Date(Date.now() - 3_600_000));
    const alerts: string[] = [];
    const t = setup(new KeyRing([expired.entry], (r) => alerts.push(r)));
    await t.service.onApplicationBootstrap();
    await Promise.all(Array.from({ length: 4 }, (_, i) => t.service.append(auditEntry(`e${i}`, 'a1'))));
    expect((await t.log.tip()).size).toBe(4);
    expect(await t.log.heads()).toEqual([]);
    expect(alerts[0]).toMatch(/past its rotation deadline/);
    expect(t.lines.join('')).toMatch(/tree heads are no longer signed: failing closed/);
    expect(t.service.signerHealthy()).toBe(false);
    await t.service.onApplicationShutdown();
  });

  it('rotates with overlap: the next key takes over inside the overlap, heads of both verify', async () => {
    const now = Date.now();
    const old = generateTreeHeadKey('k-old', new Date(now - 3_600_000), new Date(now + 3_600_000));
    const next = generateTreeHeadKey('k-next', new Date(now - 60_000), new Date(now + 7_200_000));
    const ring = new KeyRing([old.entry, next.entry]);
    const t = setup(ring);
    await t.service.onApplicationBootstrap();
    await Promise.all(Array.from({ length: 3 }, (_, i) => t.service.append(auditEntry(`e${i}`, 'a1'))));
    const [head] = await t.log.heads();
    expect(head.keyId).toBe('k-next');
    const verifierKeys = [...new KeyRing([old.entry]).verifierKeys(), ...new KeyRing([next.entry]).verifierKeys()];
    expect(verifyEntries(await t.log.range(0, 3), [head], verifierKeys)).toMatchObject({ ok: true });
    await t.service.onApplicationShutdown();
  });
});
