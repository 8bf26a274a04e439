import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { InMemoryBroker } from '@countersign/bus';
import { call, DEFAULT_PRINCIPALS, eventually, freePort, writeTokens } from '@countersign/testing';
import { startEmbedded } from './embedded';

// real: all five services in one process, its database (PGlite) and bus log in COUNTERSIGN_HOME, the local flag
// and audit files, a real child process killed with SIGKILL; fake: the target system (the embedded sink).
// What one instance leaves in its home must be there for the next: pending reviews, action statuses, client
// idempotency keys, rate-limit windows, and proposals published but not yet decided.
const root = join(__dirname, '../../..');
const example = (f: string) => JSON.parse(readFileSync(join(__dirname, '../examples', f), 'utf8'));
const exportProposal = (i: number) => ({
  actionType: 'data.export',
  target: `report-weekly-${i}`,
  parameters: { fields: ['orders', 'revenue'], destination: 'internal-dashboard' },
  proposer: { agentId: 'analytics-agent', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'export-v3' },
  confidence: 0.95,
  tenant: 'acme',
  region: 'eu-west',
  context: {},
});

/** A home with an exporting agent's token besides the default principals. */
function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'countersign-durable-'));
  writeTokens(home, [...DEFAULT_PRINCIPALS, { name: 'exporter', principal: 'analytics', kind: 'agent', roles: ['agent'], agentIds: ['analytics-agent'] }]);
  return home;
}

const token = (home: string, name: string) => readFileSync(join(home, 'tokens', name), 'utf8');
const statusOf = async (url: string, home: string, id: string) => (await call('GET', `${url}/v1/actions/${id}`, undefined, token(home, 'auditor'))).body;
// Waits generously: a process just started on a busy machine (its code compiled at start) may take a while; a pass is quick.
const reachStatus = (url: string, home: string, id: string, want: string | RegExp) =>
  eventually(async () => {
    const view = await statusOf(url, home, id);
    expect(view.status).toMatch(want);
    return view;
  }, 60_000);
/** The stand-in target's effects of one action, as `deliveries` of each (it keeps them in the home across restarts). */
const delivered = async (url: string, home: string, id: string) =>
  ((await call('GET', `${url}/_sink/effects`, undefined, token(home, 'sink'))).body.effects as { actionId: string; deliveries: number }[])
    .filter((e) => e.actionId === id)
    .map((e) => e.deliveries);

interface Before {
  review: string;
  idempotent: string;
  undecided: string;
}

/** Builds up state worth keeping, ending with a proposal accepted but (most likely) not yet decided. */
async function leaveState(url: string, home: string): Promise<Before> {
  const review = (await call('POST', `${url}/v1/proposals`, example('refund-large.json'), token(home, 'agent'))).body.actionId as string;
  const idem = await call('POST', `${url}/v1/proposals`, example('refund-small.json'), token(home, 'agent'), { 'Idempotency-Key': 'refund-order-42-once' });
  expect(idem.status).toBe(202);
  const idempotent = idem.body.actionId as string;
  for (let i = 0; i < 10; i++) {
    const id = (await call('POST', `${url}/v1/proposals`, exportProposal(i), token(home, 'exporter'))).body.actionId as string;
    await reachStatus(url, home, id, 'executed');
  }
  await reachStatus(url, home, review, 'in_review');
  await reachStatus(url, home, idempotent, 'executed');
  expect(await delivered(url, home, idempotent)).toEqual([1]);
  const undecided = (await call('POST', `${url}/v1/proposals`, example('reply.json'), token(home, 'agent'))).body.actionId as string;
  return { review, idempotent, undecided };
}

/** What the next instance on the same home must show. */
async function expectKept(url: string, home: string, before: Before): Promise<void> {
  // The proposal accepted just before the stop is decided (and executed) now.
  await reachStatus(url, home, before.undecided, 'executed');
  // The action statuses answer.
  expect((await statusOf(url, home, before.idempotent)).status).toBe('executed');
  // The same POST with the same key is the same action: not a second refund.
  const again = await call('POST', `${url}/v1/proposals`, example('refund-small.json'), token(home, 'agent'), { 'Idempotency-Key': 'refund-order-42-once' });
  expect(again.body.actionId).toBe(before.idempotent);
  // The review waits, and can be approved.
  const item = await call('GET', `${url}/v1/reviews/${before.review}`, undefined, token(home, 'reviewer'));
  expect(item.status).toBe(200);
  const approved = await call('POST', `${url}/v1/reviews/${before.review}/approve`, { reason: 'damage confirmed by photo' }, token(home, 'reviewer'));
  expect(approved.status).toBe(200);
  await reachStatus(url, home, before.review, 'executed');
  // The eleventh export of the hour is prohibited, as it was before the restart.
  const eleventh = (await call('POST', `${url}/v1/proposals`, exportProposal(10), token(home, 'exporter'))).body.actionId as string;
  const view = await reachStatus(url, home, eleventh, 'prohibited');
  expect(JSON.stringify(view)).toContain('exports-per-actor');
  // The target was not called again for the idempotent action: its one effect, delivered once, kept across the restart.
  expect(await delivered(url, home, before.idempotent)).toEqual([1]);
  expect(await delivered(url, home, before.review)).toEqual([1]);
}

describe('the embedded mode keeps its state in COUNTERSIGN_HOME', () => {
  it('through a stop and a start: reviews, statuses, idempotency, rate limits and undecided proposals; a second instance is refused', async () => {
    const home = newHome();
    const first = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
    let before: Before;
    try {
      before = await leaveState(first.url, home);
      // While it runs, a second instance on the same home is refused with a clear message.
      await expect(startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) })).rejects.toThrow(
        /COUNTERSIGN_HOME is in use by process \d+ \(this one\)/,
      );
    } finally {
      await first.close();
    }
    const second = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
    try {
      await expectKept(second.url, home, before);
    } finally {
      await second.close();
    }
  }, 120_000);

  it('through a stop: an execution in flight finishes while the process still serves its stand-in target, and is delivered once', async () => {
    const home = newHome();
    const first = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
    // The target holds the first delivery until the test lets it go: the stop begins with an execution in flight.
    let entered!: () => void;
    const inTarget = new Promise<void>((r) => (entered = r));
    let letGo!: () => void;
    const gate = new Promise<void>((r) => (letGo = r));
    const receive = first.sink.receive.bind(first.sink);
    first.sink.receive = async (...args) => {
      entered();
      await gate;
      return receive(...args);
    };
    const id = (await call('POST', `${first.url}/v1/proposals`, example('refund-small.json'), token(home, 'agent'))).body.actionId as string;
    await inTarget;
    // When the first consumer leaves its group, a new connection tells whether the process still serves: the consumers
    // must drain before the HTTP server closes, or a handler's next call to a route of this process (a resend, the next
    // action) is refused and its outcome is unknown (red team, 2026-12-04: ECONNRESET, then ECONNREFUSED).
    const leave = InMemoryBroker.prototype.leave;
    let servedAtLeave: Promise<number | string> | undefined;
    const spy = jest.spyOn(InMemoryBroker.prototype, 'leave').mockImplementation(function (this: InMemoryBroker, ...args) {
      servedAtLeave ??= fetch(`${first.url}/healthz`).then(
        (res) => res.status,
        (e: Error & { cause?: { code?: string } }) => e.cause?.code ?? e.message,
      );
      return leave.apply(this, args);
    });
    let closing: Promise<void> | undefined;
    try {
      closing = first.close();
      await eventually(async () => expect(servedAtLeave).toBeDefined(), 30_000);
      expect(await servedAtLeave).toEqual(expect.any(Number));
    } finally {
      spy.mockRestore();
      letGo();
      await (closing ?? first.close());
    }
    const second = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
    try {
      // Executed by the first process, not settled by the second: no resend, one delivery.
      expect((await statusOf(second.url, home, id)).status).toBe('executed');
      expect(await delivered(second.url, home, id)).toEqual([1]);
    } finally {
      await second.close();
    }
  }, 120_000);

  it('through a kill -9 of the process: the next process on the home takes over the stale lock and loses nothing', async () => {
    const home = newHome();
    const children: ChildProcess[] = [];
    const start = async () => {
      const port = await freePort();
      const child = spawn(process.execPath, ['-r', './tools/register.js', 'apps/embedded/src/main.ts'], {
        cwd: root,
        env: { ...process.env, COUNTERSIGN_HOME: home, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let output = '';
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const url = `http://127.0.0.1:${port}`;
      return { child, url, exited, output: () => output };
    };
    const ready = (url: string) =>
      eventually(async () => {
        const res = await fetch(`${url}/readyz`);
        expect(res.status).toBe(200);
      }, 60_000);
    try {
      const first = await start();
      await ready(first.url);
      const before = await leaveState(first.url, home);

      // A second process on the same home while the first runs: refused, with the reason, before serving.
      const intruder = await start();
      expect(await intruder.exited).toBe(1);
      expect(intruder.output()).toMatch(new RegExp(`COUNTERSIGN_HOME is in use by process ${first.child.pid}`));

      first.child.kill('SIGKILL');
      await first.exited;
      const second = await start();
      await ready(second.url);
      await expectKept(second.url, home, before);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  }, 240_000);
});
