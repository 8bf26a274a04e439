import pino from 'pino';
import { generateSigningKey, verifyEventSeal, verifyKeysOfSigner } from '@countersign/approval';
import { emitControlFact } from '@countersign/nest';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { eventually } from '@countersign/testing';
import type { BacklogItem } from './backlog-gauges';
import { DegradationControlFollower, DegradationControlState, MODE_SUBJECT, ModeChanged, OVERRIDE_SUBJECT } from './control-state';
import { DegradationController } from './degradation-controller.service';
import { DEFAULT_DEGRADATION_SETTINGS, DegradationContract, GovernanceService } from './governance.service';
import { InMemoryBacklogGauges } from './in-memory-backlog-gauges';
import { InMemoryLeaderLease } from './in-memory-leader-lease';
import type { ReviewHistory } from './review-history';

// real: two DegradationControllers with their GovernanceService, the in-memory bus (the control topics), the in-memory
// gauges and one in-memory lease shared by both; fake: the clock and the review history (a list of pending items).

const logger = pino({ level: 'silent' });
const signingKey = generateSigningKey('review-queue-test');
const signer = signingKey.signing;
const contract: DegradationContract = {
  slaClasses: { high: 900 },
  degradation: {
    minDwellSeconds: 60,
    elevated: { enter: { pending: 5 }, exit: { pending: 2 } },
    constrained: { enter: { pending: 50 }, exit: { pending: 20 } },
    halted: { enter: { pending: 500 }, exit: { pending: 200 } },
  },
};

/** One review-queue instance's controller over `history`, with a lease of its own (`id` names the instance). */
const controllerOf = (bus: InMemoryBus, state: DegradationControlState, history: ReviewHistory, id: string, now: () => number) =>
  new DegradationController(
    bus,
    new InMemoryLeaderLease(now),
    state,
    new GovernanceService(new InMemoryBacklogGauges(), history, contract, { ...DEFAULT_DEGRADATION_SETTINGS, instanceId: id, reconcileMs: 0, now }, logger),
    logger,
    signer,
  );

describe('the degradation controller: one owner, continuing from the control topic', () => {
  let clock = Date.parse('2026-11-30T10:00:00.000Z');
  let backlog: BacklogItem[] = [];
  const history: ReviewHistory = { pendingItems: async () => backlog, decidedSince: async () => [] };
  const bus = new InMemoryBus({ source: 'review-queue', logger });
  const lease = new InMemoryLeaderLease(() => clock);
  const published: ModeChanged[] = [];

  /** One review-queue instance: its controller, and its own reading of the control topic. */
  async function instance(id: string) {
    const state = new DegradationControlState();
    await bus.subscribe({
      group: `test.${id}`,
      replay: true,
      handlers: { [TOPICS.degradationModeChanged]: async (e) => state.applyMode(e), [TOPICS.degradationOverrideSet]: async (e) => state.applyOverride(e) },
      onCaughtUp: () => state.markCaughtUp(),
    });
    const settings = { ...DEFAULT_DEGRADATION_SETTINGS, instanceId: id, reconcileMs: 0, now: () => clock };
    const governance = new GovernanceService(new InMemoryBacklogGauges(), history, contract, settings, logger);
    return { state, controller: new DegradationController(bus, lease, state, governance, logger, signer) };
  }
  const items = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ actionId: `a${i}`, slaClass: 'high', requiredRoles: ['finance'], createdAt: clock - 1_000 }));

  beforeAll(async () => {
    await bus.subscribe({ group: 'test.watch', handlers: { [TOPICS.degradationModeChanged]: async (e) => void published.push(e) } });
  });
  afterAll(() => bus.close());

  it('decides on one instance only, hands over when the lease runs out, and the new owner keeps the dwell', async () => {
    const a = await instance('rq-a');
    const b = await instance('rq-b');
    backlog = items(6);
    await a.controller.tick();
    await b.controller.tick();
    await eventually(() => expect(published.map((e) => [e.data.mode, e.data.previous])).toEqual([['elevated', 'normal']]));
    expect(a.controller.isLeader()).toBe(true);
    expect(b.controller.isLeader()).toBe(false);
    // Ticks with nothing new publish nothing, on either instance.
    clock += 1_000;
    await a.controller.tick();
    await b.controller.tick();
    await eventually(() => expect(b.state.published().mode).toBe('elevated'));

    // A stops (no more renewals): after the lease's TTL, B takes over. The backlog drained 10 s after elevated, but the
    // dwell counts from the published change, not from B's start: B holds elevated until 60 s have passed.
    backlog = items(1);
    clock += DEFAULT_DEGRADATION_SETTINGS.leaseTtlMs + 5_000;
    await b.controller.tick();
    expect(b.controller.isLeader()).toBe(true);
    expect(published).toHaveLength(1);
    clock = Date.parse(published[0].time) + 60_000;
    await b.controller.tick();
    await eventually(() => expect(published.map((e) => e.data.mode)).toEqual(['elevated', 'normal']));
    expect(published[1].data).toMatchObject({ previous: 'elevated', reason: 'every signal below the exit thresholds of elevated for the minimum dwell' });

    // A comes back: the lease is B's, so A decides nothing, whatever it reads.
    backlog = items(9);
    await a.controller.tick();
    expect(a.controller.isLeader()).toBe(false);
    expect(published).toHaveLength(2);
    await b.controller.tick();
    await eventually(() => expect(published.map((e) => e.data.mode)).toEqual(['elevated', 'normal', 'elevated']));
  });

  it('rebuilds the gauges at least every reconcileMs, and at the next tick once they may have missed a change', async () => {
    let reads = 0;
    const counted: ReviewHistory = { pendingItems: async () => (reads++, items(3)), decidedSince: async () => [] };
    const settings = { ...DEFAULT_DEGRADATION_SETTINGS, instanceId: 'rq-r', reconcileMs: 300_000, now: () => clock };
    const governance = new GovernanceService(new InMemoryBacklogGauges(), counted, contract, settings, logger);
    const state = new DegradationControlState();
    state.markCaughtUp();
    const controller = new DegradationController(bus, new InMemoryLeaderLease(() => clock), state, governance, logger, signer);
    await controller.tick();
    expect(reads).toBe(1);
    clock += 60_000;
    await controller.tick();
    expect(reads).toBe(1);
    // A gauge update failed somewhere here (the decorator says so): rebuilt at the next tick, once.
    governance.suspectDrift();
    await controller.tick();
    await controller.tick();
    expect(reads).toBe(2);
    clock += 300_000;
    await controller.tick();
    expect(reads).toBe(3);
  });

  it('decides nothing before it has read the control topic', async () => {
    const controller = controllerOf(bus, new DegradationControlState(), history, 'rq-c', () => clock);
    const before = published.length;
    backlog = items(600);
    await controller.tick();
    expect(controller.isLeader()).toBe(false);
    expect(published).toHaveLength(before);
  });
});

/** A bus with the control topics, the mode events published on it (`published`), and one instance's reading of them. */
async function controlTopics() {
  const bus = new InMemoryBus({ source: 'review-queue', logger });
  const published: ModeChanged[] = [];
  await bus.subscribe({ group: 'test.watch', handlers: { [TOPICS.degradationModeChanged]: async (e) => void published.push(e) } });
  const state = new DegradationControlState();
  await bus.subscribe({
    group: 'test.rq',
    replay: true,
    handlers: { [TOPICS.degradationModeChanged]: async (e) => state.applyMode(e), [TOPICS.degradationOverrideSet]: async (e) => state.applyOverride(e) },
    onCaughtUp: () => state.markCaughtUp(),
  });
  return { bus, published, state };
}

describe("the degradation controller under one admin's override", () => {
  it('holds it only at or above the computed mode: a backlog growing past it raises the mode; confirmed by a second admin, it holds', async () => {
    const clock = Date.parse('2026-11-30T12:00:00.000Z');
    let backlog: BacklogItem[] = [];
    const { bus, published, state } = await controlTopics();
    const history: ReviewHistory = { pendingItems: async () => backlog, decidedSince: async () => [] };
    const controller = controllerOf(bus, state, history, 'rq-o', () => clock);
    const admin = { id: 'ada', kind: 'human' as const, roles: ['admin'], authMethod: 'bearer-token' as const };
    const pin = (confirmedBy?: string) =>
      bus.emit(
        TOPICS.degradationOverrideSet,
        {
          override: {
            mode: 'normal',
            by: 'ada',
            reason: 'pin normal for a week',
            expiresAt: new Date(clock + 6 * 86_400_000).toISOString(),
            ...(confirmedBy && { confirmedBy }),
          },
          reason: 'pin normal for a week',
        },
        { subject: OVERRIDE_SUBJECT, actor: admin },
      );
    try {
      // Set by one admin while the backlog is low: at the computed mode, so it holds.
      await pin();
      await eventually(() => expect(state.activeOverride(clock)).toMatchObject({ by: 'ada' }));
      await controller.tick();
      await eventually(() => expect(published.at(-1)?.data).toMatchObject({ mode: 'normal', override: { by: 'ada' } }));
      // The backlog grows past elevated's threshold: the controls tighten despite the override.
      backlog = Array.from({ length: 6 }, (_, i) => ({ actionId: `o${i}`, slaClass: 'high', requiredRoles: ['finance'], createdAt: clock - 1_000 }));
      await controller.tick();
      await eventually(() =>
        expect(published.at(-1)?.data).toMatchObject({
          mode: 'elevated',
          computed: 'elevated',
          reason: expect.stringMatching(/which no second admin confirmed/),
        }),
      );
      // A second admin confirms loosening past the controller's judgement: the override holds as set.
      await pin('grace');
      await eventually(() => expect(state.activeOverride(clock)).toMatchObject({ confirmedBy: 'grace' }));
      await controller.tick();
      await eventually(() => expect(published.at(-1)?.data).toMatchObject({ mode: 'normal', computed: 'elevated', override: { confirmedBy: 'grace' } }));
    } finally {
      await bus.close();
    }
  });
});

describe('the degradation controller under overrides that resume (ADR 0013 addendum 2026-12-08)', () => {
  it("publishes the override that resumes at the end of a shorter one, without a moment at the computed mode, and the computed mode at the last one's end", async () => {
    let clock = Date.parse('2026-11-30T12:00:00.000Z');
    const { bus, published, state } = await controlTopics();
    const history: ReviewHistory = { pendingItems: async () => [], decidedSince: async () => [] };
    const controller = controllerOf(bus, state, history, 'rq-r', () => clock);
    const at = (minutes: number) => new Date(clock + minutes * 60_000).toISOString();
    const grace = { mode: 'halted' as const, by: 'grace', reason: 'incident one, an hour', expiresAt: at(60) };
    const ada = { mode: 'constrained' as const, by: 'ada', reason: 'incident two, later', expiresAt: at(90) };
    try {
      await bus.emit(
        TOPICS.degradationOverrideSet,
        {
          override: { mode: 'halted', by: 'linus', reason: 'incident three, ten minutes', expiresAt: at(10), resumes: [grace, ada] },
          reason: 'incident three',
        },
        { subject: OVERRIDE_SUBJECT, actor: { id: 'linus', kind: 'human', roles: ['admin'], authMethod: 'bearer-token' } },
      );
      await eventually(() => expect(state.activeOverride(clock)).toMatchObject({ by: 'linus' }));
      const expected: Array<[number, string, string | undefined]> = [
        [0, 'halted', 'linus'],
        [5, 'halted', 'linus'],
        [10, 'halted', 'grace'],
        [59, 'halted', 'grace'],
        [60, 'constrained', 'ada'],
        [89, 'constrained', 'ada'],
        [90, 'normal', undefined],
        [120, 'normal', undefined],
      ];
      for (const [minute, mode, by] of expected) {
        clock = Date.parse('2026-11-30T12:00:00.000Z') + minute * 60_000;
        await controller.tick();
        await eventually(() => expect([published.at(-1)?.data.mode, published.at(-1)?.data.override?.by]).toEqual([mode, by]));
      }
      // In order, never the computed normal between two overrides (the same one published again after reassertMs).
      const seen = published.map((e) => `${e.data.mode} ${e.data.override?.by ?? '-'}`).filter((m, i, all) => m !== all[i - 1]);
      expect(seen).toEqual(['halted linus', 'halted grace', 'constrained ada', 'normal -']);
      expect(published.find((e) => e.data.override?.by === 'linus')?.data.reason).toMatch(
        /^operator override by linus until .*: incident three, ten minutes; then halted by grace until .*, then constrained by ada until /,
      );
    } finally {
      await bus.close();
    }
  });
});

describe("the review queue's own reading of the control topics: sealed facts only (ADR 0039)", () => {
  it('a forged override ("confirmed" by a second admin) changes nothing; a forged mode makes the controller publish the mode again', async () => {
    const clock = Date.parse('2026-12-02T12:00:00.000Z');
    const bus = new InMemoryBus({ source: 'review-queue', logger });
    const published: ModeChanged[] = [];
    await bus.subscribe({ group: 'test.watch', handlers: { [TOPICS.degradationModeChanged]: async (e) => void published.push(e) } });
    const alerts: Array<Record<string, unknown>> = [];
    const alerting = pino({ level: 'error' }, { write: (line: string) => void alerts.push(JSON.parse(line)) });
    const state = new DegradationControlState();
    const follower = new DegradationControlFollower(state, 'test.rq', verifyKeysOfSigner(signer), alerting);
    const handlers = (follower as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers();
    await bus.subscribe({ group: 'test.rq', replay: true, handlers, onCaughtUp: () => state.markCaughtUp() });
    const history: ReviewHistory = { pendingItems: async () => items(6), decidedSince: async () => [] };
    const controller = controllerOf(bus, state, history, 'rq-s', () => clock);
    const items = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ actionId: `a${i}`, slaClass: 'high', requiredRoles: ['finance'], createdAt: clock - 1_000 }));
    try {
      await controller.tick();
      await eventually(() => expect(published).toHaveLength(1));
      expect(state.published().mode).toBe('elevated');

      // With the topic's write credential alone: an override to normal that names a second admin, and a mode `normal`.
      await bus.emit(
        TOPICS.degradationOverrideSet,
        {
          override: { mode: 'normal', by: 'mallory', confirmedBy: 'ada', reason: 'forged', expiresAt: new Date(clock + 86_400_000).toISOString() },
          reason: 'forged',
        },
        { subject: OVERRIDE_SUBJECT, actor: { id: 'mallory', kind: 'human', roles: ['admin'] } },
      );
      await bus.emit(
        TOPICS.degradationModeChanged,
        { mode: 'normal', previous: 'elevated', computed: 'normal', inputs: {}, reason: 'forged', computedSince: new Date(clock).toISOString() },
        { subject: MODE_SUBJECT, time: new Date(clock + 1_000) },
      );
      await eventually(() => expect(alerts.filter((a) => a.alert === 'control-fact-refused')).toHaveLength(2));
      expect(state.activeOverride(clock)).toBeUndefined();
      expect(state.published().mode).toBe('elevated');
      expect(state.needsRepublish()).toMatch(/was refused: the mode is published again/);

      // The next tick publishes the mode again, sealed and stamped after the genuine event in force (the followers refused
      // the forged one too), so they take it.
      await controller.tick();
      await eventually(() => expect(published).toHaveLength(3));
      const again = published[2];
      expect(again.data.mode).toBe('elevated');
      expect(Date.parse(again.time)).toBeGreaterThan(Date.parse(published[0].time));
      expect(verifyEventSeal(again, [signingKey.verifyKey])).toEqual({ ok: true });
      await eventually(() => expect(state.needsRepublish()).toBeUndefined());
      await controller.tick();
      expect(published).toHaveLength(3);
    } finally {
      await bus.close();
    }
  });

  it('publishes the mode again, unchanged, after reassertMs, so the compacted topic always ends on a sealed mode', async () => {
    let clock = Date.parse('2026-12-02T12:00:00.000Z');
    const bus = new InMemoryBus({ source: 'review-queue', logger });
    const published: ModeChanged[] = [];
    await bus.subscribe({ group: 'test.watch', handlers: { [TOPICS.degradationModeChanged]: async (e) => void published.push(e) } });
    const state = new DegradationControlState();
    state.markCaughtUp();
    const history: ReviewHistory = { pendingItems: async () => [], decidedSince: async () => [] };
    const controller = controllerOf(bus, state, history, 'rq-r', () => clock);
    try {
      // Nothing published yet on an empty topic (normal): nothing to re-assert.
      await controller.tick();
      expect(published).toHaveLength(0);
      state.applyMode(
        await emitControlFact(
          bus,
          signer,
          TOPICS.degradationModeChanged,
          {
            mode: 'normal',
            previous: 'normal',
            computed: 'normal',
            inputs: {},
            reason: 'test',
            computedSince: new Date(clock).toISOString(),
          },
          { subject: MODE_SUBJECT, time: new Date(clock) },
        ),
      );
      await eventually(() => expect(published).toHaveLength(1));
      clock += DEFAULT_DEGRADATION_SETTINGS.reassertMs - 1_000;
      await controller.tick();
      expect(published).toHaveLength(1);
      clock += 1_000;
      await controller.tick();
      await eventually(() => expect(published).toHaveLength(2));
      expect(published[1].data).toMatchObject({ mode: 'normal', previous: 'normal' });
      expect(verifyEventSeal(published[1], [signingKey.verifyKey])).toEqual({ ok: true });
    } finally {
      await bus.close();
    }
  });
});

describe('the SLO counts the controller reads from PostgreSQL', () => {
  it('counts the burn window at every refresh and the SLO window once a 2000th of it has passed (scale probe, 2026-12-06)', async () => {
    const start = Date.parse('2026-11-30T10:00:00.000Z');
    let clock = start;
    const asked: number[] = [];
    const history: ReviewHistory = {
      pendingItems: async () => [],
      decidedSince: async (since) => (asked.push(Math.round((clock - since.getTime()) / 1000)), [{ slaClass: 'high', decided: 40, late: 1 }]),
    };
    const withSlo: DegradationContract = {
      ...contract,
      degradation: { ...contract.degradation!, slo: { target: 0.95, windowSeconds: 7 * 86_400, burnWindowSeconds: 3_600, onBudgetExhausted: 'elevated' } },
    };
    const settings = { ...DEFAULT_DEGRADATION_SETTINGS, instanceId: 'rq', now: () => clock };
    const governance = new GovernanceService(new InMemoryBacklogGauges(), history, withSlo, settings, logger);
    await governance.assess(clock);
    expect(asked.sort()).toEqual([3_600, 604_800]);
    // Every 10 s for 5 minutes: the burn window each time, the 7-day window not again until 7 days / 2000 (302.4 s).
    asked.length = 0;
    for (let s = 10; s < 300; s += 10) {
      clock += 10_000;
      const { slos } = await governance.assess(clock);
      expect(slos[0]).toMatchObject({ window: { seconds: 604_800, decided: 40 }, burnWindow: { seconds: 3_600, decided: 40 } });
    }
    expect(asked.every((w) => w === 3_600)).toBe(true);
    expect(asked).toHaveLength(29);
    clock = start + 303_000;
    await governance.assess(clock);
    expect(asked.slice(-2).sort()).toEqual([3_600, 604_800]);
  });
});
