// npm run bench:memory: what the embedded mode keeps per action it handles, as a soak would see it (2026-12-06).
// One process (all five services, its PGlite database and audit file, a new home), BENCH_ACTIONS autonomous refunds in
// BENCH_ROUNDS rounds, 20 at once; after each round the process settles, a GC runs, and its heap and RSS are read. The
// baseline is the heap right after the start, in the same run: the ratio is the heap each 1,000 actions add (from the
// first round's end to the last's, so that warm-up does not count) over it. A process whose memory grows without end with
// its history shows here; one that keeps only bounded state stays near 0.
// Needs nothing but Node: no stack. Run with --expose-gc (the npm script does).
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startEmbedded } from '@countersign/embedded';

const ACTIONS = Number(process.env.BENCH_ACTIONS ?? 3_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const AT_ONCE = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => Math.round((bytes / 1e6) * 10) / 10;

function measure() {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('bench:memory needs node --expose-gc (npm run bench:memory passes it)');
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

async function main() {
  const home = mkdtempSync(join(tmpdir(), 'countersign-bench-memory-'));
  // As fast as the machine takes them: the per-agent rate at the door (20 a second embedded) is not what is measured.
  const running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }), proposalRate: { perSecond: 1_000_000, burst: 1_000_000 } });
  try {
    const token = readFileSync(join(home, 'tokens', 'agent'), 'utf8');
    const example = JSON.parse(readFileSync(join(__dirname, '../apps/embedded/examples/refund-small.json'), 'utf8'));
    await sleep(2_000);
    const start = measure();
    process.stderr.write(`bench:memory: after the start: heap ${mb(start.heap)} MB, rss ${mb(start.rss)} MB\n`);
    const perRound = Math.ceil(ACTIONS / ROUNDS);
    const rounds: { actions: number; heap: number; rss: number }[] = [];
    let n = 0;
    let refused = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < perRound; i += AT_ONCE) {
        await Promise.all(
          Array.from({ length: AT_ONCE }, async () => {
            const k = n++;
            const res = await fetch(`${running.url}/v1/proposals`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': `bench-memory-${k}` },
              body: JSON.stringify({ ...example, target: `order-${k}` }),
            });
            if (res.status !== 202) refused++;
            await res.arrayBuffer();
          }),
        );
      }
      // Until the process is done with them: its audit file has not grown for two seconds (an action the contract sends
      // to review, past the agent's autonomous budget, ends its run there, as one executed does at the target).
      const audit = join(home, 'audit', 'audit.jsonl');
      const until = Date.now() + 120_000;
      for (let size = -1, still = 0; still < 2 && Date.now() < until;) {
        await sleep(1_000);
        const now = statSync(audit).size;
        still = now === size ? still + 1 : 0;
        size = now;
      }
      const m = measure();
      rounds.push({ actions: n, ...m });
      process.stderr.write(
        `bench:memory: after ${n} actions (${running.sink.effects.length} executed, the rest in review; ${refused} not accepted): heap ${mb(m.heap)} MB, rss ${mb(m.rss)} MB\n`,
      );
    }
    const first = rounds[0];
    const last = rounds[rounds.length - 1];
    const perThousand = ((last.heap - first.heap) / (last.actions - first.actions)) * 1_000;
    console.log(`heap per 1,000 actions: ${mb(perThousand)} MB (rss ${mb(((last.rss - first.rss) / (last.actions - first.actions)) * 1_000)} MB)`);
    console.log(`baseline: heap after the start ${mb(start.heap)} MB`);
    console.log(`ratio: ${(perThousand / start.heap).toFixed(3)} (heap per 1,000 actions / heap after the start; lower is better)`);
    if (refused) console.log(`warning: ${refused} proposals were not accepted`);
  } finally {
    await running.close();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
