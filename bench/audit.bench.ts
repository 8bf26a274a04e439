// npm run bench:audit — the audit log's speed, each figure beside its baseline from the same run:
//  - durable append (batches of 1,000, hash chain, a signed tree head per batch) vs plain multi-row
//    INSERTs of the same entries without the chain, vs the raw SHA-256 rate of the same entry bytes;
//  - verification of the stored log (ChainVerifier over the database's rows) vs raw SHA-256 of the bytes.
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

  let t = performance.now();
  for (const b of bytes) createHash('sha256').update(b).digest();
  const rawHash = rate(N, performance.now() - t);

  const db = await createTestDatabase('bench_audit');
  const owner = createPgPool(db.url, 2);
  await owner.query('CREATE TABLE plain_events (event_id text PRIMARY KEY, type text, subject text, correlation_id text, event_time timestamptz, entry jsonb)');
  await owner.query('GRANT INSERT, SELECT ON plain_events TO countersign_audit');
  const pool = createPgPool(db.urlFor(process.env.AUDIT_DATABASE_URL!), 4);
  try {
    t = performance.now();
    for (let i = 0; i < N; i += BATCH) {
      const values: unknown[] = [];
      const rows = entries.slice(i, i + BATCH).map((e, j) => {
        values.push(e.eventId, e.eventType, e.actionId, e.correlationId, e.time, JSON.stringify(e));
        return `($${j * 6 + 1},$${j * 6 + 2},$${j * 6 + 3},$${j * 6 + 4},$${j * 6 + 5},$${j * 6 + 6})`;
      });
      await pool.query(`INSERT INTO plain_events VALUES ${rows.join(',')} ON CONFLICT DO NOTHING`, values);
    }
    const plain = rate(N, performance.now() - t);

    const log = createPgAuditLog(pool);
    const key = generateTreeHeadKey('bench', new Date(Date.now() - 60_000), new Date(Date.now() + 3_600_000));
    const ring = new KeyRing([key.entry]);
    t = performance.now();
    for (let i = 0; i < N; i += BATCH) {
      const tip = await log.appendBatch(entries.slice(i, i + BATCH));
      await log.saveHead(ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date()));
    }
    const durable = rate(N, performance.now() - t);

    const stored: LoggedEntry[] = [];
    for (let i = 0; i < N; i += 10_000) stored.push(...(await log.range(i, i + 10_000)));
    const heads = await log.heads();
    t = performance.now();
    const verifier = new ChainVerifier(heads, ring.verifierKeys());
    for (const e of stored) if (verifier.push(e)) throw new Error('bench log does not verify');
    const result = verifier.finish();
    const verify = rate(N, performance.now() - t);
    if (!result.ok) throw new Error(result.problem);

    const line = (k: string, v: string) => process.stdout.write(`${k.padEnd(56)} ${v}\n`);
    process.stdout.write('\n');
    line('raw SHA-256 of the entry bytes (baseline)', fmt(rawHash));
    line('plain multi-row INSERTs, no chain (baseline)', fmt(plain));
    line(
      'durable append: hash chain + signed head per 1,000',
      `${fmt(durable)}   = ${((durable / plain) * 100).toFixed(0)} % of plain INSERTs   (goal ≥ 20,000/s)`,
    );
    line(
      'verification of the stored log (leaf + chain + heads)',
      `${fmt(verify)}   = ${((verify / rawHash) * 100).toFixed(0)} % of raw hashing   (goal ≥ 50 %)`,
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
