import { ConflictException, ForbiddenException, ServiceUnavailableException } from '@nestjs/common';
import pino from 'pino';
import { DecisionSigner, generateSigningKey } from '@countersign/approval';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import type { AuthenticatedRequest } from '@countersign/nest';
import { eventually } from '@countersign/testing';
import { DegradationControlState, MODE_SUBJECT, ModeChanged, OVERRIDE_SUBJECT } from './control-state';
import { GovernanceController } from './governance.controller';
import type { GovernanceService } from './governance.service';
import type { LeaderLease } from './leader-lease';
import type { DegradationSettings, Mode, Signals } from './mode';

// real: GovernanceController, the control state as every instance follows it from the control topics, the in-memory
// bus; fake: the degradation controller (the leader), which here publishes the mode an override asks for at once, with
// the computed mode the test sets, and the clock.

const THRESHOLDS: DegradationSettings = {
  minDwellSeconds: 60,
  elevated: { enter: { pending: 20 }, exit: { pending: 10 } },
  constrained: { enter: { pending: 500 }, exit: { pending: 200 } },
  halted: { enter: { pending: 5000 }, exit: { pending: 2000 } },
};

describe('mode overrides: an admin tightens alone, loosening below the computed mode takes a second admin', () => {
  const HOUR = 3_600_000;
  /** What the gauges say now (the controller may not have published it yet). */
  let signals: Signals = { pending: 0, oldestAgeShare: 0, pendingPerReviewer: 0, burnRate: 0 };
  // The events carry the bus's real time; the controller's clock starts there and moves on when a test says so.
  let now = Date.now();
  let computed: Mode = 'constrained';
  const bus = new InMemoryBus({ source: 'review-queue', logger: pino({ level: 'silent' }) });
  const state = new DegradationControlState();
  /** The governance API over this bus and state, sealing with `signer` (the review-decision key). */
  const controllerWith = (signer: DecisionSigner) =>
    new GovernanceController(
      {
        settings: { now: () => now, maxOverrideMs: 7 * 24 * HOUR },
        assess: async () => ({ inputs: { signals, budgetExhausted: false } }),
        contract: { degradation: THRESHOLDS },
      } as unknown as GovernanceService,
      state,
      {} as LeaderLease,
      bus,
      signer,
    );
  const controller = controllerWith(generateSigningKey('review-queue-test').signing);
  const admin = (id: string) => ({ principal: { id, kind: 'human', roles: ['admin'] } }) as unknown as AuthenticatedRequest;
  const res = () => ({ status: jest.fn() });
  const publishMode = (mode: Mode, override?: ModeChanged['data']['override']) =>
    bus.emit(
      TOPICS.degradationModeChanged,
      { mode, previous: 'normal', computed, inputs: {}, reason: 'test', computedSince: new Date(now - HOUR).toISOString(), ...(override && { override }) },
      { subject: MODE_SUBJECT },
    );
  const overrideSets: string[] = [];
  const overrideReasons: string[] = [];

  beforeAll(async () => {
    await bus.subscribe({
      group: 'test.state',
      handlers: {
        [TOPICS.degradationModeChanged]: async (e) => state.applyMode(e),
        [TOPICS.degradationOverrideSet]: async (e) => {
          state.applyOverride(e);
          overrideSets.push(e.subject);
          overrideReasons.push(e.data.reason);
          // The leader applies an override set (not a request) at once.
          if (e.subject === OVERRIDE_SUBJECT) await publishMode(e.data.override?.mode ?? computed, e.data.override);
        },
      },
    });
    await publishMode('constrained');
    await eventually(() => expect(state.published()).toMatchObject({ mode: 'constrained', computed: 'constrained' }));
  });
  afterAll(() => bus.close());

  const inFuture = (ms: number) => new Date(now + ms).toISOString();

  it('an override below the computed mode waits (202): the mode stays, nothing is overridden', async () => {
    const r = res();
    const answer = await controller.setOverride({ mode: 'normal', reason: 'a test flood, not real work', expiresAt: inFuture(HOUR) }, admin('ada'), r);
    expect(r.status).toHaveBeenCalledWith(202);
    expect(answer).toMatchObject({ status: 'awaiting-second-admin', request: { mode: 'normal', by: 'ada' }, mode: 'constrained' });
    expect(state.published()).toMatchObject({ mode: 'constrained' });
    expect(state.activeOverride(now)).toBeUndefined();
    expect(state.pendingRequest(now)).toMatchObject({ override: { mode: 'normal', by: 'ada' } });
  });

  it('the admin who asked cannot confirm it; another admin does, naming what they reviewed, and the override is set with both names', async () => {
    const asked = state.pendingRequest(now)!.override;
    const reviewed = { mode: asked.mode, expiresAt: asked.expiresAt };
    await expect(controller.confirmOverride({ ...reviewed, reason: 'me again' }, admin('ada'))).rejects.toBeInstanceOf(ForbiddenException);
    // Another mode or end than the request's is not what waits: 409, nothing set.
    await expect(controller.confirmOverride({ ...reviewed, mode: 'elevated', reason: 'checked' }, admin('grace'))).rejects.toThrow(
      /the override waiting is normal until .* \(asked by ada\), not elevated until/,
    );
    await expect(controller.confirmOverride({ ...reviewed, expiresAt: inFuture(7 * 24 * HOUR), reason: 'checked' }, admin('grace'))).rejects.toBeInstanceOf(
      ConflictException,
    );
    expect(state.published().mode).toBe('constrained');
    const answer = await controller.confirmOverride({ ...reviewed, reason: 'checked the flood with ada' }, admin('grace'));
    expect(answer).toMatchObject({ override: { mode: 'normal', by: 'ada', confirmedBy: 'grace' }, mode: 'normal', applied: true });
    expect(state.activeOverride(now)).toMatchObject({ by: 'ada', confirmedBy: 'grace' });
    // The request is used up: it cannot be confirmed twice.
    expect(state.pendingRequest(now)).toBeUndefined();
    await expect(controller.confirmOverride({ ...reviewed, reason: 'once more' }, admin('grace'))).rejects.toBeInstanceOf(ConflictException);
  });

  it('an override at or above the computed mode takes one admin, at once', async () => {
    const r = res();
    const answer = await controller.setOverride({ mode: 'halted', reason: 'incident 4711', expiresAt: inFuture(HOUR) }, admin('ada'), r);
    expect(r.status).not.toHaveBeenCalled();
    expect(answer).toMatchObject({ override: { mode: 'halted', by: 'ada' }, mode: 'halted', applied: true });
    expect(state.activeOverride(now)).not.toHaveProperty('confirmedBy');
  });

  it("keeps an override's reason masked: every reviewer and lead reads it in the mode's why", async () => {
    const reason = 'per jane.doe@victim.example, card 4111 1111 1111 1111';
    await controller.setOverride({ mode: 'halted', reason, expiresAt: inFuture(HOUR) }, admin('ada'), res());
    await eventually(() => expect(state.activeOverride(now)?.reason).toBe('per j***@[email], card [card …1111]'));
    // What the leader publishes carries the override (its `why` quotes the reason): masked too.
    await eventually(() => expect(state.published().override?.reason).toBe('per j***@[email], card [card …1111]'));
    expect(JSON.stringify(state.published())).not.toMatch(/jane\.doe|4111 1111/);
  });

  it('a request nobody confirms lapses after an hour', async () => {
    await controller.setOverride({ mode: 'elevated', reason: 'backlog is a known batch', expiresAt: inFuture(3 * HOUR) }, admin('ada'), res());
    expect(state.pendingRequest(now)).toBeDefined();
    now += HOUR + 60_000;
    expect(state.pendingRequest(now)).toBeUndefined();
    await expect(controller.confirmOverride({ mode: 'elevated', expiresAt: inFuture(2 * HOUR), reason: 'too late' }, admin('grace'))).rejects.toBeInstanceOf(
      ConflictException,
    );
    expect(state.published().mode).toBe('halted');
  });

  it('counts what the controller would compute from the inputs now, when that is stricter than what it last published', async () => {
    now = Date.now(); // back from the hour the test before waited
    // The operator's halt is above what the controller computes: clearing it alone lowers the mode, which takes two
    // admins (red team, 2026-12-07); an override of the computed mode, confirmed by another admin, replaces it.
    await expect(controller.clearOverride({ reason: 'incident over' }, admin('ada'))).rejects.toThrow(
      /^clearing the override lowers the mode from halted to constrained, and lowering it takes two admins/,
    );
    const back = inFuture(HOUR);
    const asked = res();
    expect(await controller.setOverride({ mode: 'constrained', reason: 'incident over', expiresAt: back }, admin('ada'), asked)).toMatchObject({
      status: 'awaiting-second-admin',
      why: expect.stringMatching(/below the override in force \(halted, by ada, until .*\); once confirmed it replaces the overrides in force/),
    });
    await eventually(() => expect(state.pendingRequest(now)?.override.mode).toBe('constrained'));
    await controller.confirmOverride({ mode: 'constrained', expiresAt: back, reason: 'checked the incident report' }, admin('grace'));
    await eventually(() => expect(state.activeOverride(now)?.mode).toBe('constrained'));
    // It holds the mode at the computed constrained: cleared by one admin, the mode would follow the computed one down.
    await expect(controller.clearOverride({ reason: 'incident over' }, admin('ada'))).rejects.toThrow(
      /^clearing the override ends ada's hold of the mode at constrained until .*, and lowering it takes two admins/,
    );
    // It ends.
    now += 2 * HOUR;
    computed = 'normal';
    await publishMode('normal');
    await eventually(() => expect(state.published()).toMatchObject({ mode: 'normal', computed: 'normal' }));
    // A flood since the controller's last tick: 40 pending, over elevated's enter threshold.
    signals = { ...signals, pending: 40 };
    const r = res();
    const answer = await controller.setOverride({ mode: 'normal', reason: 'pin it at normal', expiresAt: inFuture(HOUR) }, admin('ada'), r);
    expect(r.status).toHaveBeenCalledWith(202);
    expect(answer).toMatchObject({ status: 'awaiting-second-admin', why: expect.stringMatching(/below the computed elevated/) });
    // With the flood gone, normal is what it computes: one admin may pin it there.
    signals = { ...signals, pending: 0 };
    const pinned = res();
    expect(await controller.setOverride({ mode: 'normal', reason: 'pin it at normal', expiresAt: inFuture(HOUR) }, admin('ada'), pinned)).toMatchObject({
      mode: 'normal',
      applied: true,
    });
    expect(pinned.status).not.toHaveBeenCalled();
    // An override at normal holds nothing up: one admin clears it, and the clearing says so in its reason (the event has
    // no override: it read as a setting without a mode).
    await controller.clearOverride({ reason: 'incident over' }, admin('ada'));
    await eventually(() => expect(overrideReasons).toContain('override cleared by ada: incident over'));
  });

  it('without a review-decision key valid now, an override cannot be sealed: 503, nothing published (ADR 0039)', async () => {
    const expired = generateSigningKey('review-queue-old', { notBefore: new Date(0), notAfter: new Date(Date.now() - 60_000) }).signing;
    const unsealable = controllerWith(expired);
    const before = overrideSets.length;
    await expect(unsealable.setOverride({ mode: 'halted', reason: 'incident 4712', expiresAt: inFuture(HOUR) }, admin('ada'), res())).rejects.toThrow(
      ServiceUnavailableException,
    );
    await expect(unsealable.clearOverride({ reason: 'incident over' }, admin('ada'))).rejects.toThrow(
      /cannot be sealed now, nothing was published: no review-decision signing key is valid/,
    );
    expect(overrideSets).toHaveLength(before);
  });

  it('a new override withdraws a request asked against the one before, and one request waits at a time (red team, 2026-12-07)', async () => {
    now = Date.now();
    await controller.setOverride({ mode: 'halted', reason: 'incident one', expiresAt: inFuture(HOUR) }, admin('ada'), res());
    await eventually(() => expect(state.activeOverride(now)).toMatchObject({ mode: 'halted', reason: 'incident one' }));
    const lift = inFuture(HOUR);
    expect(await controller.setOverride({ mode: 'normal', reason: 'incident one over', expiresAt: lift }, admin('grace'), res())).toMatchObject({
      status: 'awaiting-second-admin',
    });
    // Another admin's request while grace's waits: refused, not put in its place without a word.
    await expect(controller.setOverride({ mode: 'elevated', reason: 'mine instead', expiresAt: inFuture(HOUR) }, admin('linus'), res())).rejects.toThrow(
      /^grace's request for normal until .* waits for a second admin/,
    );
    // A new incident: grace halts again. The request to end incident one is withdrawn with it.
    await controller.setOverride({ mode: 'halted', reason: 'incident two: a new breach', expiresAt: inFuture(2 * HOUR) }, admin('grace'), res());
    await eventually(() => expect(state.pendingRequest(now)).toBeUndefined());
    await expect(controller.confirmOverride({ mode: 'normal', expiresAt: lift, reason: 'confirm the lift' }, admin('ada'))).rejects.toBeInstanceOf(
      ConflictException,
    );
    expect(state.activeOverride(now)).toMatchObject({ mode: 'halted', reason: 'incident two: a new breach' });
  });
  it('an override as strict as the one in force but shorter applies at once, and the longer one resumes at its end: no second admin, nothing lowered (ADR 0013 addendum 2026-12-08)', async () => {
    // In force from the test before: grace's halt for incident two, two hours, above the computed constrained.
    now = Date.now();
    expect(state.activeOverride(now)).toMatchObject({ mode: 'halted', by: 'grace' });
    const grace = state.activeOverride(now)!;
    // Below grace's halt before its own end: loosening, a second admin (and no override set meanwhile).
    const lower = res();
    expect(
      await controller.setOverride({ mode: 'constrained', reason: 'still halted, honest', expiresAt: inFuture(3_000) }, admin('ada'), lower),
    ).toMatchObject({
      status: 'awaiting-second-admin',
      why: expect.stringMatching(
        /^constrained is below the override in force \(halted, by grace, until .*\); once confirmed it replaces the overrides in force/,
      ),
    });
    expect(lower.status).toHaveBeenCalledWith(202);
    expect(state.activeOverride(now)).toEqual(grace);
    // As strict, for 3 s (the red team's lift, 2026-12-07, which then lowered the mode at its end): applied at once, grace's
    // halt resumes at its end. ada's request is withdrawn with it.
    const short = res();
    const until = inFuture(3_000);
    expect(await controller.setOverride({ mode: 'halted', reason: 'incident three', expiresAt: until }, admin('ada'), short)).toMatchObject({
      override: { mode: 'halted', by: 'ada', expiresAt: until, resumes: [grace] },
      applied: true,
    });
    expect(short.status).not.toHaveBeenCalled();
    await eventually(() => expect(state.pendingRequest(now)).toBeUndefined());
    expect(state.activeOverride(now)).toMatchObject({ mode: 'halted', by: 'ada', resumes: [grace] });
    // Its end: grace's, as it was, until its own end; then none.
    expect(state.activeOverride(Date.parse(until))).toEqual(grace);
    expect(state.activeOverride(Date.parse(grace.expiresAt))).toBeUndefined();
    // Clearing would end grace's too: 409.
    await expect(controller.clearOverride({ reason: 'over' }, admin('ada'))).rejects.toThrow(/^clearing the override lowers the mode from halted to normal/);
    // A stricter one in the middle of three: each resumes in turn. An `elevated` below them before its end waits.
    now = Date.parse(until) + 1;
    expect(state.activeOverride(now)).toEqual(grace);
    const first = inFuture(60_000);
    const second = inFuture(30_000);
    await controller.setOverride({ mode: 'halted', reason: 'incident four', expiresAt: first }, admin('ada'), res());
    await eventually(() => expect(state.activeOverride(now)).toMatchObject({ by: 'ada', expiresAt: first }));
    await controller.setOverride({ mode: 'halted', reason: 'incident five', expiresAt: second }, admin('linus'), res());
    await eventually(() => expect(state.activeOverride(now)).toMatchObject({ by: 'linus', expiresAt: second }));
    expect(state.overrideStack(now).map((o) => o.by)).toEqual(['linus', 'ada', 'grace']);
    expect(state.overrideStack(Date.parse(second)).map((o) => o.by)).toEqual(['ada', 'grace']);
    // Ending after ada's but before grace's: it replaces linus's and ada's (it covers both), grace's resumes after it.
    const third = inFuture(90_000);
    await controller.setOverride({ mode: 'halted', reason: 'incidents four and five', expiresAt: third }, admin('linus'), res());
    await eventually(() => expect(state.activeOverride(now)).toMatchObject({ by: 'linus', expiresAt: third }));
    expect(state.overrideStack(now).map((o) => o.by)).toEqual(['linus', 'grace']);
    const r = res();
    expect(await controller.setOverride({ mode: 'elevated', reason: 'calmer now', expiresAt: inFuture(120_000) }, admin('ada'), r)).toMatchObject({
      status: 'awaiting-second-admin',
      why: expect.stringMatching(/^elevated is below the override in force \(halted, by /),
    });
    expect(r.status).toHaveBeenCalledWith(202);
  });

  it('an override that holds the mode at the computed one: a shorter one resumes it, clearing it takes two admins (red team of the first fix, 2026-12-07)', async () => {
    now = Date.now();
    await controller.setOverride({ mode: 'halted', reason: 'three hours of it', expiresAt: inFuture(3 * HOUR) }, admin('ada'), res());
    await eventually(() => expect(state.activeOverride(now)).toMatchObject({ mode: 'halted', by: 'ada', reason: 'three hours of it' }));
    // The controller now computes halted too.
    computed = 'halted';
    await publishMode('halted', state.activeOverride(now));
    await eventually(() => expect(state.published()).toMatchObject({ mode: 'halted', computed: 'halted' }));
    const ada = state.overrideStack(now).at(-1)!;
    expect(ada).toMatchObject({ by: 'ada', reason: 'three hours of it' });
    const r = res();
    expect(await controller.setOverride({ mode: 'halted', reason: 'still halted', expiresAt: inFuture(20_000) }, admin('grace'), r)).toMatchObject({
      override: { by: 'grace', resumes: [ada] },
      applied: true,
    });
    expect(r.status).not.toHaveBeenCalled();
    expect(state.activeOverride(now + 20_000)).toEqual(ada);
    await expect(controller.clearOverride({ reason: 'lift it' }, admin('grace'))).rejects.toThrow(/^clearing the override ends /);
    expect(state.activeOverride(now)).toMatchObject({ mode: 'halted', by: 'grace', resumes: [ada] });
  });
});
