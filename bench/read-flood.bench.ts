// npm run bench:read-flood: what one agent reading as fast as it can does to another agent's reads, in the embedded mode
// (one process: all five services, its PGlite database; a new home each side), with no read rate and with the
// embedded default (EMBEDDED_READ_RATE, docs/adr/0048 addendum 2026-12-07). Each side: the other agent polls its own
// action 20 times a second alone (its baseline, in the same run), then while the flooder reads its own action from
// BENCH_FLOODERS loops at once, as fast as the answers come, for BENCH_SECONDS. Last line `ratio: …`: the other
// agent's p99 under the flood over its p99 alone, on each side. Needs nothing but Node: no stack.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startEmbedded } from '@countersign/embedded';
import { EMBEDDED_READ_RATE, Rate } from '@countersign/limits';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const FLOODERS = Number(process.env.BENCH_FLOODERS ?? 16);
const POLL_MS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function side(readRate: Rate) {
  const home = mkdtempSync(join(tmpdir(), 'countersign-bench-read-flood-'));
  const running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }), readRate });
  try {
    const tokenOf = (name: string) => readFileSync(join(home, 'tokens', name), 'utf8');
    const example = JSON.parse(readFileSync(join(__dirname, '../apps/embedded/examples/refund-small.json'), 'utf8'));
    // Each agent reads an action of its own: a real answer, a query of the database, as an agent polling its work reads.
    const propose = async (token: string, agentId: string) => {
      const res = await fetch(`${running.url}/v1/proposals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ ...example, proposer: { ...example.proposer, agentId } }),
      });
      if (res.status !== 202) throw new Error(`bench:read-flood: a proposal was answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { actionId: string }).actionId;
    };
    const [flooder, other] = [tokenOf('agent'), tokenOf('agent2')];
    const read = async (token: string, id: string) => {
      const t = performance.now();
      const res = await fetch(`${running.url}/v1/actions/${id}`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      return { status: res.status, ms: performance.now() - t };
    };
    const [floodersAction, othersAction] = [await propose(flooder, 'support-copilot'), await propose(other, 'ops-copilot')];
    await sleep(1_000);

    const poll = async (until: number) => {
      const latencies: number[] = [];
      while (performance.now() < until) {
        const r = await read(other, othersAction);
        if (r.status !== 200) throw new Error(`bench:read-flood: the other agent's read was answered ${r.status}`);
        latencies.push(r.ms);
        await sleep(Math.max(0, POLL_MS - r.ms));
      }
      return latencies.sort((a, b) => a - b);
    };
    const alone = await poll(performance.now() + SECONDS * 1000);

    const answered = { ok: 0, limited: 0 };
    const end = performance.now() + SECONDS * 1000;
    const flood = Array.from({ length: FLOODERS }, async () => {
      while (performance.now() < end) {
        const r = await read(flooder, floodersAction);
        if (r.status === 200) answered.ok++;
        else if (r.status === 429) answered.limited++;
        else throw new Error(`bench:read-flood: a flooding read was answered ${r.status}`);
      }
    });
    const [flooded] = await Promise.all([poll(end), ...flood]);
    return { alone, flooded, answered };
  } finally {
    await running.close();
    rmSync(home, { recursive: true, force: true });
  }
}

async function main() {
  const unlimited = await side({ perSecond: 1_000_000, burst: 1_000_000 });
  const limited = await side(EMBEDDED_READ_RATE);
  const line = (name: string, s: Awaited<ReturnType<typeof side>>) =>
    `bench:read-flood: ${name}: the other agent's reads alone p50 ${ms(pct(s.alone, 50))} p99 ${ms(pct(s.alone, 99))}; ` +
    `under the flood p50 ${ms(pct(s.flooded, 50))} p99 ${ms(pct(s.flooded, 99))}; ` +
    `the flooder's reads ${Math.round(s.answered.ok / SECONDS)}/s answered, ${Math.round(s.answered.limited / SECONDS)}/s refused (429)\n`;
  process.stdout.write(line('no read rate', unlimited));
  process.stdout.write(line(`read rate ${EMBEDDED_READ_RATE.perSecond}/s, ${EMBEDDED_READ_RATE.burst} at once`, limited));
  const ratio = (s: Awaited<ReturnType<typeof side>>) => (pct(s.flooded, 99) / pct(s.alone, 99)).toFixed(1);
  process.stdout.write(
    `ratio: the other agent's p99 under a read flood over its p99 alone: ${ratio(unlimited)}× with no read rate, ${ratio(limited)}× with the embedded default\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`bench:read-flood failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
