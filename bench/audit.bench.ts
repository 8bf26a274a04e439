// npm run bench:audit — the audit log's speed, each figure beside its baseline from the same run:
//  - durable append (batches of 1,000, hash chain, a signed tree head per batch; the root kept at the heads, ADR 0029) vs plain multi-row
//    INSERTs of the same entries without the chain, vs the raw SHA-256 rate of the same entry bytes;
//  - verification of the stored log (ChainVerifier over the database's rows) vs raw SHA-256 of the bytes.
// Each figure is measured beside its baseline (batch by batch; round by round), and the last line, `ratio: …`, is the
// one a script reads.
import { createHash } from 'node:crypto';
import { ChainVerifier, entryBytes, generateTreeHeadKey, KeyRing, LoggedEntry } from '@countersign/audit-chain';
import type { AuditEntry } from '@countersign/audit-chain';
import { createPgAuditLog } from '@countersign/audit-writer';
import { TOPICS } from '@countersign/contracts';
import { createPgPool } from '@countersign/storage';
import { createTestDatabase, loadStackEnvFile } from '@countersign/testing';

const N = Number(process.env.BENCH_N ?? 50_000);
const BATCH = 1_000;

loadStackEnvFile();

// An audit entry as the writer stores it (it records an event's chain fields; it is not an event).
const entry = (i: number): AuditEntry => ({
  eventId: `bench-${i}`,
  eventType: TOPICS.policyDecided,
  topic: TOPICS.policyDecided,
  time: new Date(1_795_000_000_000 + i).toISOString(),
  actionId: `action-${i % 5000}`,
  correlationId: `corr-${i % 5000}`,
  causationId: `cause-${i}`,
  actor: { id: 'policy-engine', kind: 'service', authMethod: 'service' },
  model: { name: 'gpt-x', version: '2026-09' },
  promptTemplateVersion: 'support-v12',
  contractVersion: '2026.11.0',
  decision: 'review',
  reasons: ['amount above the autonomous limit of 50'],
  data: {
    lane: 'review',
    score: 40,
    digest: createHash('sha256').update(String(i)).digest('hex'),
    review: { slaClass: 'high', slaSeconds: 900 },
    parameters: { amount: 480, currency: 'EUR', reason: 'damaged item' },
  },
});

const rate = (n: number, ms: number) => (n / ms) * 1000;
const fmt = (r: number) => `${Math.round(r).toLocaleString('en')}/s`;

async function main() {
  const entries = Array.from({ length: N }, (_, i) => entry(i));
  const bytes = entries.map((e) => entryBytes({ ...e, index: 0 }));
  process.stdout.write(`${N} entries of ~${Math.round(bytes.reduce((n, b) => n + b.length, 0) / N)} bytes\n`);

  // CPU time of this process (user + system), in ms: hashing and verification are CPU-bound in this process, and on a
  // shared machine the wall clock also counts the time other processes held the cores.
  const cpuMs = (since?: NodeJS.CpuUsage) => {
    const u = process.cpuUsage(since);
    return (u.user + u.system) / 1000;
  };
  const hashAll = () => {
    const t0 = process.cpuUsage();
    for (const b of bytes) createHash('sha256').update(b).digest();
    return cpuMs(t0);
  };

  const db = await createTestDatabase('bench_audit');
  const owner = createPgPool(db.url, 2);
  await owner.query('CREATE TABLE plain_events (event_id text PRIMARY KEY, type text, subject text, correlation_id text, event_time timestamptz, entry jsonb)');
  await owner.query('GRANT INSERT, SELECT ON plain_events TO countersign_audit');
  const pool = createPgPool(db.urlFor(process.env.AUDIT_DATABASE_URL!), 4);
  try {
    const log = createPgAuditLog(pool);
    const key = generateTreeHeadKey('bench', new Date(Date.now() - 60_000), new Date(Date.now() + 3_600_000));
    const ring = new KeyRing([key.entry]);
    // Each batch goes in both ways, one right after the other, so that both see the same load (the machine is
    // shared): the ratio compares like with like even when the absolute rates swing.
    let plainMs = 0;
    let durableMs = 0;
    for (let i = 0; i < N; i += BATCH) {
      const batch = entries.slice(i, i + BATCH);
      let t = performance.now();
      const values: unknown[] = [];
      const rows = batch.map((e, j) => {
        values.push(e.eventId, e.eventType, e.actionId, e.correlationId, e.time, JSON.stringify(e));
        return `($${j * 6 + 1},$${j * 6 + 2},$${j * 6 + 3},$${j * 6 + 4},$${j * 6 + 5},$${j * 6 + 6})`;
      });
      await pool.query(`INSERT INTO plain_events VALUES ${rows.join(',')} ON CONFLICT DO NOTHING`, values);
      plainMs += performance.now() - t;
      t = performance.now();
      const tip = await log.appendBatch(batch);
      await log.saveHead(ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date()));
      durableMs += performance.now() - t;
    }
    const plain = rate(N, plainMs);
    const durable = rate(N, durableMs);

    const stored: LoggedEntry[] = [];
    for (let i = 0; i < N; i += 10_000) stored.push(...(await log.range(i, i + 10_000)));
    const heads = await log.heads();
    // Seven rounds, raw hashing and verification side by side in each, by CPU time; the median round's ratio is reported.
    const rounds: Array<{ raw: number; verify: number }> = [];
    for (let r = 0; r < 7; r++) {
      const rawMs = hashAll();
      const t = process.cpuUsage();
      const verifier = new ChainVerifier(heads, ring.verifierKeys());
      for (const e of stored) if (verifier.push(e)) throw new Error('bench log does not verify');
      const result = verifier.finish();
      rounds.push({ raw: rate(N, rawMs), verify: rate(N, cpuMs(t)) });
      if (!result.ok) throw new Error(result.problem);
    }
    rounds.sort((a, b) => a.verify / a.raw - b.verify / b.raw);
    const { raw: rawHash, verify } = rounds[3];

    const line = (k: string, v: string) => process.stdout.write(`${k.padEnd(56)} ${v}\n`);
    process.stdout.write('\n');
    line('raw SHA-256 of the entry bytes (baseline, per CPU second)', fmt(rawHash));
    line('plain multi-row INSERTs, no chain (baseline)', fmt(plain));
    line(
      'durable append: hash chain + signed head per 1,000',
      `${fmt(durable)}   = ${((durable / plain) * 100).toFixed(0)} % of plain INSERTs   (goal ≥ 50 %)`,
    );
    line('verification of the stored log (per CPU second)', `${fmt(verify)}   = ${((verify / rawHash) * 100).toFixed(0)} % of raw hashing   (goal ≥ 50 %)`);
    // One line for scripts: both shares, measured in this run against their baselines from this run.
    process.stdout.write(
      `ratio: append ${(durable / plain).toFixed(2)} of plain INSERTs (goal ≥ 0.50), verification ${(verify / rawHash).toFixed(2)} of raw SHA-256 (goal ≥ 0.50)\n`,
    );
  } finally {
    await pool.end();
    await owner.end();
    await db.drop();
  }
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).stack}\n`);
  process.exit(1);
});
