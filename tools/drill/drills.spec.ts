import { randomUUID } from 'node:crypto';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Proposal, TOPICS } from '@countersign/contracts';
import type { ActionView } from './client';
import { runDrillCli } from './drill';
import { DRILLS } from './drills';
import type { DrillTarget } from './target';

// real: the drills, their HTTP client, their reports and the drill CLI; fake: Countersign itself, a scripted twin of the
// HTTP API the drills use (proposals, action views, governance, review rejections) whose decisions each test writes
// down, and the flag service (a switch in the twin). Every answer is there at once: nothing waits on a clock.

/** How the twin decides one proposal: a lane with its reasons (the deciding one first), or no decision while flags are down. */
type Decided = { lane: 'autonomous' | 'review' | 'prohibited'; reasons: string[]; code?: string };
type Outcome = Decided | 'flags-unreadable';

const AUTONOMOUS: Decided = { lane: 'autonomous', reasons: ['internal, reversible bookkeeping'] };
const KILL_SWITCH_OFF: Decided = { lane: 'prohibited', reasons: ['the kill switch of ticket.tag is off'], code: 'kill-switch:off' };
const ANOMALY: Decided = {
  lane: 'review',
  reasons: ['anomaly:confidence-rise: mean confidence 0.989 (41 proposals in the last 300 s) is above the ceiling 0.97', 'internal, reversible bookkeeping'],
};
const FLAGS_WAITING =
  'the policy engine cannot read its feature flags (since 2026-01-01T00:00:00.000Z): nothing is decided while it cannot (fail closed), and this proposal is decided once it can';

interface Twin {
  url: string;
  proposals: Proposal[];
  rejected: string[];
  flagsDown: boolean;
  close(): Promise<void>;
}

async function startTwin(decide: (p: Proposal, n: number, twin: Twin) => Outcome, governance: Record<string, unknown> = { mode: 'normal', why: 'no signal' }) {
  const views = new Map<string, ActionView>();
  const entry = (type: string, status: string, detail: string, extra: Record<string, unknown> = {}) => ({
    eventId: randomUUID(),
    type,
    time: new Date().toISOString(),
    status,
    actor: 'twin',
    detail,
    ...extra,
  });
  const apply = (v: ActionView, out: Decided) => {
    const status = out.lane === 'review' ? 'in_review' : out.lane;
    v.timeline.push(
      entry(TOPICS.policyDecided, status, `contract twin-1: ${out.reasons.join('; ')}`, { lane: out.lane, ...(out.code && { reasonCode: out.code }) }),
    );
    v.lane = out.lane;
    v.status = status;
    delete v.waiting;
    if (out.code) v.reasonCode = out.code;
    if (out.lane === 'autonomous') {
      v.timeline.push(entry(TOPICS.actionExecuted, 'executed', 'via webhook'));
      v.status = 'executed';
    }
  };
  const body = async (req: IncomingMessage) => {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    return text ? JSON.parse(text) : {};
  };
  const twin: Twin = { url: '', proposals: [], rejected: [], flagsDown: false, close: async () => undefined };
  const server: Server = createServer(async (req, res) => {
    const send = (status: number, b: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(b));
    const url = req.url ?? '';
    if (!req.headers.authorization) return send(401, { message: 'no token' });
    if (req.method === 'POST' && url === '/v1/proposals') {
      const p = (await body(req)) as Proposal;
      const n = twin.proposals.push(p) - 1;
      const id = `act-${n + 1}`;
      const v: ActionView = {
        actionId: id,
        status: 'proposed',
        lane: null,
        timeline: [entry(TOPICS.actionProposed, 'proposed', `${p.actionType} on ${p.target}`)],
      };
      views.set(id, v);
      const out = decide(p, n, twin);
      if (out === 'flags-unreadable') v.waiting = FLAGS_WAITING;
      else apply(v, out);
      return send(202, { actionId: id, status: 'proposed' });
    }
    const action = /^\/v1\/actions\/([^/?]+)$/.exec(url);
    if (req.method === 'GET' && action) {
      const v = views.get(decodeURIComponent(action[1]));
      return v ? send(200, v) : send(404, { message: 'no such action' });
    }
    if (req.method === 'GET' && url === '/v1/governance') return send(200, governance);
    const reject = /^\/v1\/reviews\/([^/]+)\/reject$/.exec(url);
    if (req.method === 'POST' && reject) {
      const v = views.get(decodeURIComponent(reject[1]));
      if (v?.status !== 'in_review') return send(409, { message: 'not in review' });
      v.timeline.push(entry(TOPICS.reviewDecided, 'rejected', `alice: ${(await body(req)).reason}`));
      v.status = 'rejected';
      twin.rejected.push(v.actionId);
      return send(200, { status: 'rejected' });
    }
    return send(404, { message: `the twin has no ${req.method} ${url}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  twin.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  twin.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  /** The flag service: down makes proposals wait (as the policy engine does); up decides those that waited. */
  const flagService = {
    kind: 'file' as const,
    down: jest.fn(async () => void (twin.flagsDown = true)),
    up: jest.fn(async () => {
      twin.flagsDown = false;
      for (const v of views.values()) if (v.waiting) apply(v, AUTONOMOUS);
    }),
  };
  const target: DrillTarget = {
    mode: 'embedded',
    urls: { orchestrator: twin.url, reviewQueue: twin.url, policyEngine: twin.url },
    tokens: { agent: 'agent-token', reviewer: 'reviewer-token', admin: 'admin-token' },
    flagService,
  };
  return { twin, target, flagService };
}

const twins: Twin[] = [];
async function twinOf(...args: Parameters<typeof startTwin>) {
  const t = await startTwin(...args);
  twins.push(t.twin);
  return t;
}
afterEach(async () => {
  await Promise.all(twins.splice(0).map((t) => t.close()));
});

/**
 * Runs `countersign drill` as a person would, on a target file written for the twin (an embedded target, as `npm start`
 * writes it, with `fields` added: a flag file); returns its exit code and what it printed on stdout.
 */
async function cli(twin: Twin, argv: string[], fields: (dir: string) => Record<string, unknown> = () => ({})) {
  const dir = mkdtempSync(join(tmpdir(), 'drill-target-'));
  try {
    mkdirSync(join(dir, 'tokens'));
    for (const name of ['agent', 'reviewer', 'admin']) writeFileSync(join(dir, 'tokens', name), `${name}-token`);
    const urls = { orchestrator: twin.url, reviewQueue: twin.url, policyEngine: twin.url };
    writeFileSync(join(dir, 'target.json'), JSON.stringify({ mode: 'embedded', urls, tokensDir: join(dir, 'tokens'), ...fields(dir) }));
    const out: string[] = [];
    const outSpy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
    try {
      const code = await runDrillCli([...argv, '--target', dir]);
      return { code, out: out.join(''), files: readdirSync(dir).sort() };
    } finally {
      outSpy.mockRestore();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const check = (report: { checks: Array<{ name: string; ok: boolean; detail: string }> }, name: string) => {
  const c = report.checks.find((x) => x.name.startsWith(name));
  if (!c) throw new Error(`no check "${name}" in ${JSON.stringify(report.checks)}`);
  return c;
};

describe('confident-nonsense', () => {
  it('does not credit the anomaly rules when the burst was prohibited by a kill switch (turned off after the pre-flight)', async () => {
    // The first proposal (the pre-flight) runs; then the kill switch is off and every proposal is prohibited.
    const { target } = await twinOf((_p, n) => (n === 0 ? AUTONOMOUS : KILL_SWITCH_OFF));
    const report = await DRILLS['confident-nonsense']({ target, waitMs: 5_000, burst: 5 });

    expect(report.passed()).toBe(false);
    expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
      ['the burst is caught by an anomaly rule before it ends', false],
      ['once caught, the rest of the burst goes to review', false],
      ['nothing caught runs before a person looks', false],
    ]);
    expect(check(report, 'the burst is caught').detail).toBe('nothing was caught: 5 prohibited (kill-switch:off)');
    // Nothing says something ran, or was in review, that did not.
    expect(report.text()).not.toMatch(/ran autonomously|after the first catch in review|\d+ caught/);
    expect(report.degraded).toEqual([]);
  });

  it('stops before the burst when the kill switch is off, saying why in one line, exit 3 (CLI)', async () => {
    const { twin } = await twinOf(() => KILL_SWITCH_OFF);
    const { code, out } = await cli(twin, ['confident-nonsense', '--wait-s', '5']);

    expect(code).toBe(3);
    expect(out.split('\n')[0]).toMatch(
      /^drill confident-nonsense: STOPPED before it began, in [\d.]+ s: pre-flight: expected a low-risk ticket tag at confidence 0\.95 runs on its own, but action act-1 ended prohibited: kill-switch:off \(the kill switch of ticket\.tag is off\)$/,
    );
    // One probe, no burst.
    expect(twin.proposals).toHaveLength(1);
  });
});

describe('flag-service-down', () => {
  it('fails the outage check when the held action was sent to review by an anomaly rule, and says so', async () => {
    // The baseline runs; from then on an anomaly rule sends every proposal of the agent to review, outage or not.
    const { target, twin } = await twinOf((_p, n) => (n === 0 ? AUTONOMOUS : ANOMALY));
    const report = await DRILLS['flag-service-down']({ target, waitMs: 5_000 });

    expect(report.passed()).toBe(false);
    const during = check(report, 'during the outage, nothing runs on a flag that cannot be read');
    expect(during.ok).toBe(false);
    expect(during.detail).toMatch(/^a low-risk action ended in_review: anomaly:confidence-rise: mean confidence 0\.989 .*, not held by the flag outage$/);
    const after = check(report, 'after the outage, a low-risk action executes again');
    expect(after).toMatchObject({ ok: false, detail: expect.stringMatching(/^it ended in_review: anomaly:confidence-rise: /) });
    // The outage is not credited with what the anomaly rule did.
    expect(report.degraded.map((d) => d.what)).not.toContainEqual(expect.stringMatching(/every flag unknown/));
    // What it sent to review it rejected, and the report says so: nothing is left waiting.
    expect(twin.rejected).toEqual(['act-2', 'act-3']);
    expect(report.text()).toContain('a reviewer rejects the 2 action(s) the drill left in review: act-2, act-3');
    expect(report.text()).toContain('what it left pending: nothing');
  });

  it('passes the outage check when the action itself says it waits on the flags (the twin as the real system behaves)', async () => {
    const { target } = await twinOf((_p, _n, twin) => (twin.flagsDown ? 'flags-unreadable' : AUTONOMOUS));
    const report = await DRILLS['flag-service-down']({ target, waitMs: 5_000, neverSeenActionType: 'data.export' });

    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.passed()).toBe(true);
    expect(check(report, 'during the outage').detail).toBe(`a low-risk action is proposed: waiting: ${FLAGS_WAITING}`);
    expect(report.degraded.map((d) => d.what)).toContain('every flag unknown: a low-risk action waits instead of executing');
  });

  it('judges only what it proposes once an action shows the outage noticed: those decided before ran on the flags as they were', async () => {
    // The system notices the outage a moment late (it watches the flag file): the first two proposals after the file went
    // are still decided and executed, as the embedded mode did for the red team; from the third on, they wait.
    let firstDown: number | undefined;
    const noticedAt: number[] = [];
    const { target, twin } = await twinOf((_p, n, t) => {
      if (!t.flagsDown) return AUTONOMOUS;
      firstDown ??= n;
      if (n - firstDown < 2) return AUTONOMOUS;
      noticedAt.push(n);
      return 'flags-unreadable';
    });
    const report = await DRILLS['flag-service-down']({ target, waitMs: 5_000, neverSeenActionType: 'data.export' });

    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.passed()).toBe(true);
    // act-2 and act-3 ran before the outage was noticed; act-4 showed it; the judged ones (act-5, act-6) came after.
    expect(report.text()).toContain('2 probe(s) executed: decided before the system noticed the outage, on the flags as they were: act-2, act-3');
    expect(report.text()).toContain(`the outage is noticed: probe act-4 is proposed: waiting: ${FLAGS_WAITING}`);
    expect(noticedAt).toEqual([3, 4, 5]);
    expect(twin.proposals.map((p) => p.actionType)).toEqual([
      'ticket.tag',
      'ticket.tag',
      'ticket.tag',
      'ticket.tag',
      'ticket.tag',
      'data.export',
      'ticket.tag',
    ]);
    expect(check(report, 'during the outage').detail).toBe(`a low-risk action is proposed: waiting: ${FLAGS_WAITING}`);
    expect(check(report, 'a flag never seen fails closed').ok).toBe(true);
    // Every probe is accounted for: the one that waited ran once the flags were back.
    expect(report.summary().agentsSaw.actions).toEqual({ executed: 7 });
    expect(report.pending()).toEqual([]);
  });

  it('stops with exit 3, the flag file back in place, when no action ever shows the outage noticed (CLI)', async () => {
    // The system never notices: every proposal is decided and executed, the flag file gone or not.
    const { twin } = await twinOf(() => AUTONOMOUS);
    const signalListeners = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const { code, out, files } = await cli(twin, ['flag-service-down', '--wait-s', '1'], (dir) => {
      writeFileSync(join(dir, 'flags.json'), '{"version":1,"features":[]}');
      return { flagService: { kind: 'file', path: join(dir, 'flags.json') } };
    });

    expect(code).toBe(3);
    const first = out.split('\n')[0];
    expect(first).toMatch(
      /^drill flag-service-down: STOPPED before it began, in [\d.]+ s: pre-flight: the flag file was moved aside, but in 1 s no action showed that the system noticed \(once it has, an action waits on the flags\): (\d+) probe\(s\), \1 executed \(internal, reversible bookkeeping\)$/,
    );
    const probes = /: (\d+) probe\(s\)/.exec(first)![1];
    expect(out).toContain('the flag service comes back');
    expect(out).toMatch(new RegExp(`\\n {2}[\\d.]+ s ${probes} probe\\(s\\) executed, on the flags as they were before the outage: act-2, `));
    expect(out).toMatch(/\nchecks:\n {2}ok {3}before the outage, a low-risk action executes: [^\n]*\n$/);
    // Nothing was judged after the probes: no "after" proposal, and the flag file is where it was.
    expect(out).not.toContain('after the outage');
    expect(files).toEqual(['flags.json', 'target.json', 'tokens']);
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(signalListeners);
  });

  it('stops before taking the flag service away when an anomaly rule already holds the agent, and rejects its probe', async () => {
    const { target, twin, flagService } = await twinOf(() => ANOMALY);
    const report = await DRILLS['flag-service-down']({ target, waitMs: 5_000 });

    expect(report.passed()).toBe(false);
    expect(report.stopped).toMatch(
      /^pre-flight: expected baseline: a low-risk action with the flag service \(file\) up executes on its own, but action act-1 ended in_review: anomaly:confidence-rise: .* \(support-copilot is under an anomaly rule, which looks at its recent proposals: five minutes under the shipped contract; run the drill once that has passed\)$/,
    );
    expect(flagService.down).not.toHaveBeenCalled();
    expect(report.checks).toEqual([]);
    expect(twin.rejected).toEqual(['act-1']);
    expect(report.text().split('\n')[0]).toMatch(/^drill flag-service-down: STOPPED before it began/);
  });
});

describe('cert-failure', () => {
  it('stops with exit 3 and one line against the embedded mode, whose trust monitor watches no certificate (CLI)', async () => {
    const { twin } = await twinOf(() => AUTONOMOUS);
    const { code, out } = await cli(twin, ['cert-failure', '--wait-s', '5']);

    expect(code).toBe(3);
    expect(out.split('\n')[0]).toMatch(
      /^drill cert-failure: STOPPED before it began, in [\d.]+ s: pre-flight: the embedded mode has no certificate its trust monitor watches \(it checks only the keys it holds\): run cert-failure against the distributed mode \(npm run start:distributed, then --target \.stack\/distributed\)$/,
    );
    expect(out).toContain('checks:\n  none ran\n');
    expect(twin.proposals).toEqual([]);
  });
});

describe('queue-overflow', () => {
  it('stops before the flood when the mode is already degraded (the rise would be credited to the flood)', async () => {
    const governance = {
      mode: 'elevated',
      why: 'pending 9 ≥ 6 (enter elevated)',
      thresholds: { minDwellSeconds: 1, elevated: { enter: { pending: 6 }, exit: { pending: 3 } } },
      backlog: { bySlaClass: { critical: { depth: 9 } } },
    };
    const { target, twin } = await twinOf(() => AUTONOMOUS, governance);
    const report = await DRILLS['queue-overflow']({ target, waitMs: 2_000 });

    expect(report.stopped).toBe(
      'pre-flight: the degradation mode is elevated (pending 9 ≥ 6 (enter elevated)); the drill needs normal: run it once the mode is back',
    );
    expect(twin.proposals).toEqual([]);
    expect(report.passed()).toBe(false);
  });
});
