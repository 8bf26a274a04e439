import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { generateTreeHeadKey, KeyRing, verifyEntries } from '@countersign/audit-chain';
import type { AuditEntry, TreeHead } from '@countersign/audit-chain';
import { InMemoryBus, isDependencyFailure } from '@countersign/bus';
import { KeyFileWatcher, loadSigningKeys } from '@countersign/keys';
import { AUDIT_LOG_OWN_TOPICS, canonicalDigest, derivedEventId, TOPICS, TopicMap } from '@countersign/contracts';
import { eventually, RecordingBus, refundProposal } from '@countersign/testing';
import { AuditConsumer } from '../ingest/audit.consumer';
import { METRIC_DEFINITIONS, Metrics, parsePrometheusText, sampleSum } from '@countersign/metrics';
import type { AppendResult, ChainTip } from '../log-store/audit-log.repository';
import { auditEntry } from '../log-store/audit-log.suite';
import { FileAuditLogRepository } from '../log-store/file-audit-log.repository';
import { AuditChainService } from './audit-chain.service';
import { FileHeadStore } from './file-head-store';

// real: the chain service, the file audit store, the head store, the in-memory bus (and, for redelivery, the audit
// consumer on it); fake: a PostgreSQL outage (the store refuses some calls with ECONNREFUSED while `down`).
function setup(keys: KeyRing, everyEntries = 3) {
  const dir = mkdtempSync(join(tmpdir(), 'chain-'));
  const log = new FileAuditLogRepository(join(dir, 'audit.jsonl'));
  const bus = new InMemoryBus({ logger: pino({ level: 'silent' }), source: 'audit-writer' });
  const published: TopicMap[typeof TOPICS.treeHeadPublished][] = [];
  void bus.subscribe({ group: 'test.heads', handlers: { [TOPICS.treeHeadPublished]: async (e) => void published.push(e) } });
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, { write: (l: string) => void lines.push(l) });
  const metrics = new Metrics('audit-writer', METRIC_DEFINITIONS, { defaultMetrics: false });
  const service = new AuditChainService(log, keys, new FileHeadStore(join(dir, 'heads')), { everyEntries, everyMs: 60_000 }, bus, logger, metrics);
  const appended = async () => sampleSum(parsePrometheusText(await metrics.render()), 'countersign_audit_entries_total');
  return { service, log, published, lines, headsDir: join(dir, 'heads'), appended };
}

describe('AuditChainService', () => {
  it('appends concurrent entries in one batch and signs a head every N entries, to the store, the head directory and the bus', async () => {
    const key = generateTreeHeadKey('k-now', new Date(Date.now() - 60_000), new Date(Date.now() + 3_600_000));
    const ring = new KeyRing([key.entry]);
    const t = setup(ring);
    await t.service.onApplicationBootstrap();
    await Promise.all(Array.from({ length: 4 }, (_, i) => t.service.append(auditEntry(`e${i}`, 'a1'))));
    expect(await t.appended()).toBe(4);
    // A redelivered event is in the log once, and counted once.
    await t.service.append(auditEntry('e1', 'a1'));
    expect(await t.appended()).toBe(4);
    const heads = await t.log.heads();
    expect(heads.map((h) => h.treeSize)).toEqual([4]);
    expect(readdirSync(t.headsDir)).toHaveLength(1);
    // The bus delivers the head to its subscriber in its own time: waited for, not slept on (a busy machine took longer
    // than a fixed 20 ms in a clean clone).
    await eventually(() => expect(t.published.map((e) => e.data.treeSize)).toEqual([4]));
    expect(verifyEntries(await t.log.range(0, 4), heads, ring.verifierKeys())).toMatchObject({ ok: true, treeSize: 4 });
    await t.service.onApplicationShutdown();
  });

  it('signs a final head on shutdown over its record of the clean stop, so a log stopped right after its last entry verifies whole', async () => {
    const key = generateTreeHeadKey('k-now', new Date(Date.now() - 60_000), new Date(Date.now() + 3_600_000));
    const ring = new KeyRing([key.entry]);
    const t = setup(ring, 100);
    await t.service.onApplicationBootstrap();
    await Promise.all(Array.from({ length: 2 }, (_, i) => t.service.append(auditEntry(`e${i}`, 'a1'))));
    expect(await t.log.heads()).toEqual([]);
    await t.service.onApplicationShutdown();
    const heads = await t.log.heads();
    // The stop is the log's last entry, under the final head: the next start takes nothing past it but its resumption.
    expect(heads.map((h) => h.treeSize)).toEqual([3]);
    expect((await t.log.range(0, 3)).map((e) => [(e.entry as AuditEntry).eventType, (e.entry as AuditEntry).data])).toEqual([
      [TOPICS.policyDecided, { lane: 'review' }],
      [TOPICS.policyDecided, { lane: 'review' }],
      [TOPICS.logStopped, { logSize: 2 }],
    ]);
    expect(verifyEntries(await t.log.range(0, 3), heads, ring.verifierKeys())).toMatchObject({ ok: true, treeSize: 3 });
    // …and tells the store it stopped cleanly under that head: a line added to the file meanwhile is refused at the next
    // start (file-audit-log.repository.spec.ts), not signed into the next head.
    expect(JSON.parse(readFileSync(join(t.headsDir, '..', 'stopped-cleanly.json'), 'utf8'))).toMatchObject({ treeSize: 3, rootHash: heads[0].rootHash });
    // Never published: only the tree head went to the bus.
    await eventually(() => expect(t.published.map((e) => e.data.treeSize)).toEqual([3]));
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

  it('follows its keys file (ADR 0019): a file swapped for an expired key stops the heads at once, a rotated one signs again without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'head-keys-'));
    const file = join(dir, 'audit-heads.json');
    const install = (k: ReturnType<typeof generateTreeHeadKey>) => {
      const pem = join(dir, `${k.entry.keyId}.pem`);
      writeFileSync(pem, k.privatePem);
      writeFileSync(`${file}.new`, JSON.stringify([{ keyId: k.entry.keyId, privateKeyFile: pem, notBefore: k.entry.notBefore, notAfter: k.entry.notAfter }]));
      renameSync(`${file}.new`, file);
    };
    const now = Date.now();
    install(generateTreeHeadKey('k-1', new Date(now - 60_000), new Date(now + 3_600_000)));
    const alerts: string[] = [];
    // Looked at on every signature (checkMs 0): the main's watcher looks at most once a second.
    const t = setup(new KeyRing(new KeyFileWatcher(file, loadSigningKeys, 0), (r) => alerts.push(r)), 2);
    await t.service.onApplicationBootstrap();
    await Promise.all([t.service.append(auditEntry('e0', 'a1')), t.service.append(auditEntry('e1', 'a1'))]);
    expect((await t.log.heads()).map((h) => [h.treeSize, h.keyId])).toEqual([[2, 'k-1']]);

    install(generateTreeHeadKey('k-expired', new Date(now - 7_200_000), new Date(now - 60_000)));
    await Promise.all([t.service.append(auditEntry('e2', 'a1')), t.service.append(auditEntry('e3', 'a1'))]);
    expect((await t.log.tip()).size).toBe(4);
    expect((await t.log.heads()).map((h) => h.treeSize)).toEqual([2]);
    expect(alerts.at(-1)).toMatch(/k-expired, expired/);
    expect(t.service.signerHealthy()).toBe(false);

    install(generateTreeHeadKey('k-2', new Date(now - 60_000), new Date(now + 3_600_000)));
    await t.service.tick(new Date(Date.now() + 120_000));
    expect((await t.log.heads()).map((h) => [h.treeSize, h.keyId])).toEqual([
      [2, 'k-1'],
      [4, 'k-2'],
    ]);
    expect(t.service.signerHealthy()).toBe(true);
    await t.service.onApplicationShutdown();
  });
});

describe('AuditChainService: a write the power cut short', () => {
  it('says at load, as an alert, that the store set a torn last line aside, where its bytes are, and signs on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chain-torn-'));
    const path = join(dir, 'audit.jsonl');
    await new FileAuditLogRepository(path).appendBatch([auditEntry('e0', 'a1'), auditEntry('e1', 'a1')]);
    const whole = readFileSync(path, 'utf8');
    writeFileSync(path, whole.slice(0, whole.length - 40));
    const log = new FileAuditLogRepository(path);
    const warnings: { alert?: string; keptAt?: string; msg: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void warnings.push(JSON.parse(l)) });
    const key = generateTreeHeadKey('k-now', new Date(Date.now() - 60_000), new Date(Date.now() + 3_600_000));
    const bus = new InMemoryBus({ logger: pino({ level: 'silent' }), source: 'audit-writer' });
    const service = new AuditChainService(
      log,
      new KeyRing([key.entry]),
      new FileHeadStore(join(dir, 'heads')),
      { everyEntries: 2, everyMs: 60_000 },
      bus,
      logger,
    );
    await service.onApplicationBootstrap();
    const [torn] = await log.tornWrites();
    expect(warnings.find((w) => w.alert === 'audit-torn-write')).toMatchObject({
      keptAt: torn.keptAt,
      msg: `the last line of ${path} (line 2, ${torn.bytes} bytes) was cut short, past every signed head (a power loss mid-write leaves one): its bytes were moved to ${torn.keptAt} and the file continues from the line before`,
    });
    // Recorded in the log itself, before anything else (e0 is a tail no head covered: recorded too).
    const recorded = (await log.range(1, 3)).map((e) => e.entry as AuditEntry);
    expect(recorded.map((e) => [e.eventType, e.actionId, e.actor.id, e.data])).toEqual([
      [
        TOPICS.logRecovered,
        'audit-log',
        'audit-writer',
        { kind: 'torn-write', file: path, line: 2, bytes: torn.bytes, digest: torn.digest, keptAt: torn.keptAt, newestSignedHead: 0 },
      ],
      [TOPICS.logRecovered, 'audit-log', 'audit-writer', { kind: 'unsigned-tail', from: 0, to: 0 }],
    ]);
    expect(torn.digest).toBe(createHash('sha256').update(readFileSync(torn.keptAt)).digest('hex'));
    // The torn event, delivered again, takes the next place, and the next head covers it and the records. (The records'
    // own ids are UUIDs: one starting with "e" had passed a filter of the test's ids one run in eight.)
    await service.append(auditEntry('e1', 'a1'));
    expect((await log.range(0, 4)).map((e) => (e.entry as AuditEntry).eventId).filter((id) => /^e\d+$/.test(id))).toEqual(['e0', 'e1']);
    // (A tick may have signed the records alone first: the newest head is what must cover everything.)
    await eventually(async () => expect((await log.heads()).at(-1)?.treeSize).toBe(4));
    await service.onApplicationShutdown();
  });
});

/** PostgreSQL refusing connections, as node-postgres reports it. */
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });

/** The file store, whose chosen calls fail as PostgreSQL's do while it is `down`; counts the refused calls. */
class OutageLog extends FileAuditLogRepository {
  down = new Set<'appendBatch' | 'saveHead' | 'tip'>();
  refusals = 0;
  /** Appends go in, but their answer is lost (the connection drops after the commit): the caller sees ECONNRESET. */
  answerLost = false;

  private check(call: 'appendBatch' | 'saveHead' | 'tip') {
    if (!this.down.has(call)) return;
    this.refusals++;
    throw refused();
  }

  override async appendBatch(batch: AuditEntry[]): Promise<AppendResult> {
    this.check('appendBatch');
    const result = await super.appendBatch(batch);
    if (this.answerLost) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    return result;
  }

  override async saveHead(head: TreeHead): Promise<void> {
    this.check('saveHead');
    return super.saveHead(head);
  }

  override async tip(): Promise<ChainTip> {
    this.check('tip');
    return super.tip();
  }
}

describe('AuditChainService: a PostgreSQL outage', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => void unhandled.push(e);
  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(() => void process.off('unhandledRejection', onUnhandled));

  function outageSetup(everyEntries: number, everyMs = 60_000) {
    const dir = mkdtempSync(join(tmpdir(), 'chain-outage-'));
    const log = new OutageLog(join(dir, 'audit.jsonl'));
    const bus = new RecordingBus({
      logger: pino({ level: 'silent' }),
      source: 'audit-writer',
      retry: { initialBackoffMs: 5, maxBackoffMs: 20, maxAttempts: 2 },
    });
    const published: TopicMap[typeof TOPICS.treeHeadPublished][] = [];
    void bus.subscribe({ group: 'test.heads', handlers: { [TOPICS.treeHeadPublished]: async (e) => void published.push(e) } });
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const key = generateTreeHeadKey('k-now', new Date(Date.now() - 60_000), new Date(Date.now() + 3_600_000));
    const ring = new KeyRing([key.entry]);
    const headsDir = join(dir, 'heads');
    const service = new AuditChainService(log, ring, new FileHeadStore(headsDir), { everyEntries, everyMs }, bus, logger);
    return { service, log, bus, published, lines, headsDir, ring };
  }

  it('does not let saveHead failing (ECONNREFUSED) escape: the service keeps running and publishes that head once the store is back', async () => {
    // A head is due every 50 ms, so the timer ticks every 50 ms: the retries below are the timer's, not the test's.
    const t = outageSetup(3, 50);
    await t.service.onApplicationBootstrap();
    t.log.down.add('saveHead');
    await Promise.all(Array.from({ length: 3 }, (_, i) => t.service.append(auditEntry(`e${i}`, 'a1'))));
    // The entries are recorded; the head is not saved, and the timer keeps trying.
    expect((await t.log.tip()).size).toBe(3);
    await eventually(() => expect(t.log.refusals).toBeGreaterThanOrEqual(3), 5_000);
    expect(await t.log.heads()).toEqual([]);
    expect(t.published).toEqual([]);
    expect(unhandled).toEqual([]);
    // Said once, not at every tick.
    expect(t.lines.filter((l) => l.includes('cannot publish the tree head'))).toHaveLength(1);

    t.log.down.delete('saveHead');
    await eventually(() => expect(t.published.map((e) => e.data.treeSize)).toEqual([3]), 5_000);
    const heads = await t.log.heads();
    // The head signed before the outage, saved, kept and published once.
    expect(heads).toEqual([t.published[0].data]);
    expect(readdirSync(t.headsDir)).toHaveLength(1);
    expect(verifyEntries(await t.log.range(0, 3), heads, t.ring.verifierKeys())).toMatchObject({ ok: true, treeSize: 3 });
    expect(t.lines.some((l) => l.includes('tree heads are published again'))).toBe(true);
    expect(unhandled).toEqual([]);
    await t.service.onApplicationShutdown();
  });

  it('boots while PostgreSQL is away, and reads the tip once it is back', async () => {
    const t = outageSetup(3, 50);
    await t.log.appendBatch([auditEntry('before', 'a0')]);
    t.log.down.add('tip');
    await t.service.onApplicationBootstrap();
    expect(t.lines.filter((l) => l.includes('cannot read the audit log tip'))).toHaveLength(1);
    t.log.down.delete('tip');
    await Promise.all(Array.from({ length: 2 }, (_, i) => t.service.append(auditEntry(`e${i}`, 'a1'))));
    // The entry no head covered is recorded as adopted before the new ones; a head covers all four.
    await eventually(() => expect(t.published.at(-1)?.data.treeSize).toBe(4), 5_000);
    expect((await t.log.range(0, 4)).map((e) => (e.entry as AuditEntry).eventId.replace(/^[0-9a-f-]{36}$/, 'recovered'))).toEqual([
      'before',
      'recovered',
      'e0',
      'e1',
    ]);
    expect(unhandled).toEqual([]);
    await t.service.onApplicationShutdown();
  });

  it("rejects an append with the store's own error, so the bus redelivers it (no dead letter) until the store is back", async () => {
    const t = outageSetup(100);
    await t.service.onApplicationBootstrap();
    const failed = await (async () => {
      t.log.down.add('appendBatch');
      return t.service.append(auditEntry('direct', 'a1')).catch((e: unknown) => e);
    })();
    expect(failed).toMatchObject({ code: 'ECONNREFUSED' });
    expect(isDependencyFailure(failed)).toBe(true);

    // Through the audit consumer itself, on the bus: the event is retried while the store refuses, then appended.
    const consumer = new AuditConsumer(t.service, { decisions: [], reviewQueue: [], outcomes: [] });
    Object.assign(consumer, { bus: t.bus });
    await consumer.onApplicationBootstrap();
    const emitted = await t.bus.emit(TOPICS.actionProposed, { proposal: refundProposal(), receivedVia: 'http' }, { subject: 'a7' });
    await eventually(() => expect(t.log.refusals).toBeGreaterThanOrEqual(5), 5_000);
    t.log.down.delete('appendBatch');
    await eventually(async () => expect((await t.log.query({ actionId: 'a7' })).map((s) => s.entry.eventId)).toEqual([emitted.id]), 5_000);
    expect(t.bus.published.filter((p) => p.topic.endsWith('.dlq'))).toEqual([]);
    await consumer.beforeApplicationShutdown();
    await t.service.onApplicationShutdown();
  });
});

describe('AuditChainService: what its load finds is recorded in the log, and a clean stop too (red team, 2026-12-04)', () => {
  const key = () => generateTreeHeadKey('k-now', new Date(Date.now() - 60_000), new Date(Date.now() + 3_600_000));
  function on(dir: string, keys: KeyRing, log = new OutageLog(join(dir, 'audit.jsonl'))) {
    const bus = new InMemoryBus({ logger: pino({ level: 'silent' }), source: 'audit-writer' });
    const published: string[] = [];
    void bus.subscribe({
      group: 'test.everything',
      handlers: Object.fromEntries([TOPICS.treeHeadPublished, ...AUDIT_LOG_OWN_TOPICS].map((topic) => [topic, async () => void published.push(topic)])),
    });
    const service = new AuditChainService(
      log,
      keys,
      new FileHeadStore(join(dir, 'heads')),
      { everyEntries: 100, everyMs: 60_000 },
      bus,
      pino({ level: 'silent' }),
    );
    return { log, service, published };
  }
  const entries = async (log: OutageLog) => (await log.range(0, (await log.tip()).size)).map((e) => e.entry as AuditEntry);
  const kinds = async (log: OutageLog) => (await entries(log)).map((e) => (e.eventType.startsWith('audit.log.') ? `${e.eventType.split('.')[2]}` : e.eventId));

  it('records entries past the newest signed head as adopted, in an entry of its own before anything else, signed by the next head', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chain-tail-'));
    const ring = new KeyRing([key().entry]);
    // Killed before its final head: e0, e1 under a head, e2 past it.
    const before = new OutageLog(join(dir, 'audit.jsonl'));
    const tip = await before.appendBatch([auditEntry('e0', 'a1'), auditEntry('e1', 'a1')]);
    await before.saveHead(ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date()));
    await before.appendBatch([auditEntry('e2', 'a1')]);

    const t = on(dir, ring);
    await t.service.onApplicationBootstrap();
    await t.service.append(auditEntry('e3', 'a1'));
    expect(await kinds(t.log)).toEqual(['e0', 'e1', 'e2', 'recovered', 'e3']);
    const [record] = (await entries(t.log)).filter((e) => e.eventType === TOPICS.logRecovered);
    expect(record).toMatchObject({
      topic: TOPICS.logRecovered,
      actionId: 'audit-log',
      correlationId: 'audit-log',
      causationId: null,
      data: { kind: 'unsigned-tail', from: 2, to: 2 },
    });
    // Its id is derived from what it records: the same finding is the same entry.
    expect(record.eventId).toBe(derivedEventId(TOPICS.logRecovered, 'audit-log', canonicalDigest({ kind: 'unsigned-tail', from: 2, to: 2 })));
    await t.service.onApplicationShutdown();
    const heads = await t.log.heads();
    expect(verifyEntries(await t.log.range(0, 6), heads, ring.verifierKeys())).toMatchObject({ ok: true, treeSize: 6 });
    // Appended to the log, never published: only the tree head went to the bus.
    await eventually(() => expect(t.published).toEqual([TOPICS.treeHeadPublished]));
  });

  it.each([
    [
      'signed by a key the writer does not hold',
      (size: number, root: string) =>
        new KeyRing([generateTreeHeadKey('k-forged', new Date(Date.now() - 60_000), new Date(Date.now() + 3_600_000)).entry]).sign(
          size,
          Buffer.from(root, 'hex'),
          new Date(),
        ),
    ],
    [
      "naming the writer's key with bytes that are no signature",
      (size: number, root: string): TreeHead => ({
        treeSize: size,
        rootHash: root,
        timestamp: new Date().toISOString(),
        keyId: 'k-now',
        signature: Buffer.alloc(64, 7).toString('base64'),
      }),
    ],
  ])(
    'loads nothing over a newest head it cannot verify (%s): entries added under it would pass as signed history (red team, 2026-12-07)',
    async (_name, forge) => {
      const dir = mkdtempSync(join(tmpdir(), 'chain-forged-head-'));
      const ring = new KeyRing([key().entry]);
      const before = new OutageLog(join(dir, 'audit.jsonl'));
      const tip = await before.appendBatch([auditEntry('e0', 'a1'), auditEntry('e1', 'a1')]);
      await before.saveHead(ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date()));
      // Someone who can add rows but holds no key: an entry of their own, and a head over it so that it looks signed.
      const forged = await before.appendBatch([auditEntry('e2', 'a1')]);
      await before.saveHead(forge(forged.size, forged.root));

      const lines: string[] = [];
      const bus = new InMemoryBus({ logger: pino({ level: 'silent' }), source: 'audit-writer' });
      const log = new OutageLog(join(dir, 'audit.jsonl'));
      const logger = pino({ level: 'error' }, { write: (l: string) => void lines.push(l) });
      const service = new AuditChainService(log, ring, new FileHeadStore(join(dir, 'heads')), { everyEntries: 100, everyMs: 60_000 }, bus, logger);
      await service.onApplicationBootstrap();
      // Nothing appended (the delivery waits, redelivered by the bus), no head signed over the forgery, and the log says why.
      const refused = await service.append(auditEntry('e3', 'a1')).catch((e: unknown) => e);
      expect(isDependencyFailure(refused)).toBe(true);
      await service.tick();
      expect(await kinds(log)).toEqual(['e0', 'e1', 'e2']);
      expect(await log.heads()).toHaveLength(2);
      const said = lines.map((l) => JSON.parse(l) as { alert?: string; err?: { message?: string } }).filter((l) => l.alert === 'audit-head-unverified');
      expect(said).toHaveLength(1);
      expect(said[0].err?.message).toContain('the newest signed head of the audit log (3 entries');
      await service.onApplicationShutdown();
    },
  );

  it('retries the record on every tick while the store is away, holds every append until it is in, and appends it once when an answer was lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chain-tail-retry-'));
    const ring = new KeyRing([key().entry]);
    const t = on(dir, ring);
    await t.log.appendBatch([auditEntry('e0', 'a1')]);
    t.log.down.add('appendBatch');
    await t.service.onApplicationBootstrap();
    // An event delivered meanwhile is refused as a dependency failure (the bus redelivers it), not appended before the record.
    const refusedAppend = await t.service.append(auditEntry('e1', 'a1')).catch((e: unknown) => e);
    expect(isDependencyFailure(refusedAppend)).toBe(true);
    expect(await kinds(t.log)).toEqual(['e0']);
    // The store takes the record but its answer is lost: the next tick appends the same entry, which is there already.
    t.log.down.delete('appendBatch');
    t.log.answerLost = true;
    await t.service.tick();
    t.log.answerLost = false;
    await t.service.tick();
    await t.service.append(auditEntry('e1', 'a1'));
    expect(await kinds(t.log)).toEqual(['e0', 'recovered', 'e1']);
    await t.service.onApplicationShutdown();
    expect(verifyEntries(await t.log.range(0, 4), await t.log.heads(), ring.verifierKeys())).toMatchObject({ ok: true, treeSize: 4 });
  });

  it('after a clean stop, a start records that it resumed and signs that before anything else; a start cut off before that head starts again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chain-stop-'));
    const ring = new KeyRing([key().entry]);
    const first = on(dir, ring);
    await first.service.onApplicationBootstrap();
    await first.service.append(auditEntry('e0', 'a1'));
    await first.service.onApplicationShutdown();
    expect(await kinds(first.log)).toEqual(['e0', 'stopped']);
    expect((await first.log.heads()).map((h) => h.treeSize)).toEqual([2]);

    // Started again, its resumption cannot be signed yet (the store refuses the head): nothing else is appended.
    const cut = on(dir, ring);
    cut.log.down.add('saveHead');
    await cut.service.onApplicationBootstrap();
    expect(isDependencyFailure(await cut.service.append(auditEntry('e1', 'a1')).catch((e: unknown) => e))).toBe(true);
    expect(await kinds(cut.log)).toEqual(['e0', 'stopped', 'resumed']);
    // Killed there (its shutdown writes nothing while the store still refuses heads).
    await cut.service.onApplicationShutdown();
    expect((await cut.log.heads()).map((h) => h.treeSize)).toEqual([2]);

    // The next start takes that lone resumption (the store allows it and nothing else), signs it, and records the tail.
    const again = on(dir, ring);
    await again.service.onApplicationBootstrap();
    expect((await again.log.heads()).map((h) => h.treeSize)).toEqual([2, 3]);
    await again.service.append(auditEntry('e1', 'a1'));
    expect(await kinds(again.log)).toEqual(['e0', 'stopped', 'resumed', 'recovered', 'e1']);
    const log = await entries(again.log);
    expect(log.map((e) => e.data).slice(1, 4)).toEqual([{ logSize: 1 }, { stoppedAt: 1 }, { kind: 'unsigned-tail', from: 2, to: 2 }]);
    await again.service.onApplicationShutdown();
    expect(verifyEntries(await again.log.range(0, 6), await again.log.heads(), ring.verifierKeys())).toMatchObject({ ok: true, treeSize: 6 });
    expect(await kinds(again.log)).toEqual(['e0', 'stopped', 'resumed', 'recovered', 'e1', 'stopped']);
  });

  it('with no key that can sign its resumption, appends nothing after a clean stop until one can (the store would refuse them)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chain-stop-nokey-'));
    const valid = key();
    const first = on(dir, new KeyRing([valid.entry]));
    await first.service.onApplicationBootstrap();
    await first.service.onApplicationShutdown();
    let keys = [generateTreeHeadKey('k-old', new Date(Date.now() - 7_200_000), new Date(Date.now() - 60_000)).entry];
    const t = on(dir, new KeyRing({ keys: () => keys }));
    await t.service.onApplicationBootstrap();
    expect(isDependencyFailure(await t.service.append(auditEntry('e0', 'a1')).catch((e: unknown) => e))).toBe(true);
    // Its keys do not hold the one that signed the stop's head either: nothing is appended over a head it cannot verify.
    expect(await kinds(t.log)).toEqual(['stopped']);
    keys = [valid.entry];
    await t.service.tick();
    await t.service.append(auditEntry('e0', 'a1'));
    expect((await t.log.heads()).map((h) => h.treeSize)).toEqual([1, 2]);
    expect(await kinds(t.log)).toEqual(['stopped', 'resumed', 'e0']);
    await t.service.onApplicationShutdown();
  });
});
