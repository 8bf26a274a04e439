// npm run bench:read-flood: what one agent reading as fast as it can does to another agent's reads, in the embedded mode
// (all five services and its PGlite database in one process, a new home each side), with no read rate and with the
// embedded default (EMBEDDED_READ_RATE, docs/adr/0048 addendum 2026-12-07), against a flooder that ignores the 429s
// and one that waits out their Retry-After (as the typed client does). Three processes, as in use: the embedded mode,
// the flooder (BENCH_FLOODERS loops at once, each reading its own action as fast as the answers come, for
// BENCH_SECONDS), and this one, where the other agent polls its own action 20 times a second, alone first (its
// baseline, in the same run), then under the flood; a fourth side has the bucket without the bound on reads in flight.
// Last line `ratio: …`: the other agent's p50, p90 and p99 under the flood over the same alone, on each side (200 reads
// each: its p99 is its second slowest). Needs nothing but Node: no stack.
import { ChildProcess, fork, Serializable } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { EMBEDDED_READ_RATE, ReadLimits } from '@countersign/limits';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const FLOODERS = Number(process.env.BENCH_FLOODERS ?? 16);
const POLL_MS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** One GET of an action: its status and how long the answer took. */
async function read(url: string, token: string, id: string) {
  const t = performance.now();
  const res = await fetch(`${url}/v1/actions/${id}`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - t };
}

/** A child of this file in a role (`server`, `flooder`), its first message awaited. */
function child<T>(role: string, input: Serializable): { process: ChildProcess; first: Promise<T> } {
  const p = fork(__filename, [role], { execArgv: ['-r', join(__dirname, '../tools/register.js')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const first = new Promise<T>((resolve, reject) => {
    p.once('message', (m) => resolve(m as T));
    p.once('exit', (code) => reject(new Error(`bench:read-flood: the ${role} process ended (${code}) before it answered`)));
  });
  p.send(input);
  return { process: p, first };
}

/** The embedded mode at a read rate: it says its URL and home, and stops when told. */
async function server() {
  const { readRate } = await new Promise<{ readRate: ReadLimits }>((r) => process.once('message', (m) => r(m as { readRate: ReadLimits })));
  const { startEmbedded } = await import('@countersign/embedded');
  const home = mkdtempSync(join(tmpdir(), 'countersign-bench-read-flood-'));
  const running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }), readRate });
  process.send?.({ url: running.url, home });
  process.once('message', async () => {
    await running.close();
    rmSync(home, { recursive: true, force: true });
    process.exit(0);
  });
}

/**
 * The flooding agent: once loaded it says so, and on the word its loops read its action until the end; then it says how
 * many reads were answered and refused. Loaded before the run, so that its own start is not in the other's figures.
 */
async function flooder() {
  const o = await new Promise<{ url: string; token: string; id: string; honours: boolean }>((r) => process.once('message', (m) => r(m as never)));
  process.send?.('ready');
  await new Promise((r) => process.once('message', r));
  const answered = { ok: 0, limited: 0 };
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: FLOODERS }, async () => {
      while (performance.now() < end) {
        const r = await read(o.url, o.token, o.id);
        if (r.status === 200) answered.ok++;
        else if (r.status === 429) {
          answered.limited++;
          // Retry-After is 1 s at this rate: the loop waits it out (or the rest of the run, when that is shorter).
          if (o.honours) await sleep(Math.min(1_000, Math.max(0, end - performance.now())));
        } else throw new Error(`bench:read-flood: a flooding read was answered ${r.status}`);
      }
    }),
  );
  process.send?.(answered, undefined, {}, () => process.exit(0));
}

async function side(readRate: ReadLimits, honours = false) {
  const embedded = child<{ url: string; home: string }>('server', { readRate });
  try {
    const { url, home } = await embedded.first;
    const tokenOf = (name: string) => readFileSync(join(home, 'tokens', name), 'utf8');
    const example = JSON.parse(readFileSync(join(__dirname, '../apps/embedded/examples/refund-small.json'), 'utf8'));
    // Each agent reads an action of its own: a real answer, a query of the database, as an agent polling its work reads.
    const propose = async (token: string, agentId: string) => {
      const res = await fetch(`${url}/v1/proposals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ ...example, proposer: { ...example.proposer, agentId } }),
      });
      if (res.status !== 202) throw new Error(`bench:read-flood: a proposal was answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { actionId: string }).actionId;
    };
    const [flooding, other] = [tokenOf('agent'), tokenOf('agent2')];
    const [floodersAction, othersAction] = [await propose(flooding, 'support-copilot'), await propose(other, 'ops-copilot')];
    await sleep(1_000);
    const poll = async (until: number) => {
      const latencies: number[] = [];
      while (performance.now() < until) {
        const r = await read(url, other, othersAction);
        if (r.status !== 200) throw new Error(`bench:read-flood: the other agent's read was answered ${r.status}`);
        latencies.push(r.ms);
        await sleep(Math.max(0, POLL_MS - r.ms));
      }
      return latencies.sort((a, b) => a - b);
    };
    const flood = child<'ready'>('flooder', { url, token: flooding, id: floodersAction, honours });
    await flood.first;
    await sleep(1_000);
    const alone = await poll(performance.now() + SECONDS * 1000);
    const counted = new Promise<{ ok: number; limited: number }>((r) => flood.process.once('message', (m) => r(m as { ok: number; limited: number })));
    flood.process.send('go');
    const [flooded, answered] = await Promise.all([poll(performance.now() + SECONDS * 1000), counted]);
    return { alone, flooded, answered };
  } finally {
    embedded.process.send('stop');
    await new Promise((r) => embedded.process.once('exit', r));
  }
}

async function main() {
  const unlimited = await side({ perSecond: 1_000_000, burst: 1_000_000, inFlight: 1_000_000 });
  const limited = await side(EMBEDDED_READ_RATE);
  const honoured = await side(EMBEDDED_READ_RATE, true);
  // The bucket alone, without the bound on reads under way: what that bound adds.
  const bucketOnly = await side({ ...EMBEDDED_READ_RATE, inFlight: 1_000_000 }, true);
  const line = (name: string, s: Awaited<ReturnType<typeof side>>) =>
    `bench:read-flood: ${name}: the other agent's reads alone p50 ${ms(pct(s.alone, 50))} p90 ${ms(pct(s.alone, 90))} p99 ${ms(pct(s.alone, 99))}; ` +
    `under the flood p50 ${ms(pct(s.flooded, 50))} p90 ${ms(pct(s.flooded, 90))} p99 ${ms(pct(s.flooded, 99))} (${s.flooded.length} reads); ` +
    `the flooder's reads ${Math.round(s.answered.ok / SECONDS)}/s answered, ${Math.round(s.answered.limited / SECONDS)}/s refused (429)\n`;
  process.stdout.write(line('no read rate', unlimited));
  const rate = `read rate ${EMBEDDED_READ_RATE.perSecond}/s, ${EMBEDDED_READ_RATE.burst} at once, ${EMBEDDED_READ_RATE.inFlight} in flight`;
  process.stdout.write(line(`${rate}, the flooder ignoring 429`, limited));
  process.stdout.write(line(`${rate}, the flooder waiting out Retry-After`, honoured));
  process.stdout.write(line(`the same without the bound in flight, the flooder waiting out Retry-After`, bucketOnly));
  const times = (s: Awaited<ReturnType<typeof side>>, p: number) => `${(pct(s.flooded, p) / pct(s.alone, p)).toFixed(1)}×`;
  const all = (s: Awaited<ReturnType<typeof side>>) => `${times(s, 50)} / ${times(s, 90)} / ${times(s, 99)}`;
  process.stdout.write(
    `ratio: the other agent's reads under a read flood over alone, p50 / p90 / p99: no read rate ${all(unlimited)}; the embedded default, ` +
      `the flooder ignoring 429 ${all(limited)}, waiting out Retry-After ${all(honoured)}; the bucket alone, waiting out Retry-After ${all(bucketOnly)}\n`,
  );
}

const role = process.argv[2];
(role === 'server' ? server() : role === 'flooder' ? flooder() : main()).catch((e) => {
  process.stderr.write(`bench:read-flood${role ? ` (${role})` : ''} failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
