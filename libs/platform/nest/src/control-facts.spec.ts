import pino from 'pino';
import { generateSigningKey, sealEvent, verifyEventSeal } from '@countersign/approval';
import { InMemoryBus } from '@countersign/bus';
import { EventData, TOPICS, TopicMap } from '@countersign/contracts';
import { emitControlFact } from './control-facts';
import { DegradationModeFollower, DegradationModeState } from './degradation-mode';
import { TrustHealthFollower, TrustHealthState } from './trust-health';

// real: the seal (Ed25519), the in-memory bus's envelopes, both followers' handlers, pino (into an array); fake: nothing
// (events are handed to the handlers, as the contract-change consumer's spec does).
type Mode = TopicMap[typeof TOPICS.degradationModeChanged];
type Verdict = TopicMap[typeof TOPICS.trustHealthChanged];

const reviewQueue = generateSigningKey('review-queue-1');
const stranger = generateSigningKey('review-queue-1');
const bus = new InMemoryBus({ source: 'review-queue', logger: pino({ level: 'silent' }) });

const modeData = (mode: Mode['data']['mode']): EventData<typeof TOPICS.degradationModeChanged> => ({
  mode,
  previous: 'normal',
  computed: mode,
  inputs: { pending: 1 },
  reason: `test: ${mode}`,
  computedSince: '2026-12-02T10:00:00.000Z',
});
const verdictData = (health: Verdict['data']['health']): EventData<typeof TOPICS.trustHealthChanged> => ({
  health,
  findings: [],
  reason: `test: ${health}`,
  checkMs: 1_000,
  heartbeatMs: 3_600_000,
});
const at = (ms: number) => new Date(Date.now() - 60_000 + ms);

/** A fact as the review queue publishes it: sealed with its key (or another signer's). */
const sealedMode = (mode: Mode['data']['mode'], time: Date, signer = reviewQueue.signing) =>
  emitControlFact(bus, signer, TOPICS.degradationModeChanged, modeData(mode), { subject: 'degradation-mode', time });
/** A fact as a holder of the topic's write credential alone can make it: a well-formed envelope, no seal. */
const unsealedMode = (mode: Mode['data']['mode'], time: Date) =>
  bus.envelope(TOPICS.degradationModeChanged, modeData(mode), { subject: 'degradation-mode', time });

function modeFollower(keys = [reviewQueue.verifyKey]) {
  const state = new DegradationModeState();
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const follower = new DegradationModeFollower(state, 'test.degradation-mode', { verify: keys }, logger);
  const handle = (e: Mode) =>
    (follower as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers()[TOPICS.degradationModeChanged](e);
  return { state, logs, handle };
}

function trustFollower(keys = [reviewQueue.verifyKey]) {
  const state = new TrustHealthState();
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const follower = new TrustHealthFollower(state, 'test.trust-health', { verify: keys }, logger);
  const handle = (e: Verdict) =>
    (follower as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers()[TOPICS.trustHealthChanged](e);
  return { state, logs, handle };
}

describe('control facts are sealed by the review queue, and followers apply only a seal that names the event (ADR 0039)', () => {
  it('a sealed fact verifies; changed data, actor, time, id, subject or type, another key, or no keys do not', async () => {
    const e = await sealedMode('halted', at(0));
    expect(verifyEventSeal(e, [reviewQueue.verifyKey])).toEqual({ ok: true });
    const refused = (x: Mode, keys = [reviewQueue.verifyKey]) => {
      const check = verifyEventSeal(x, keys);
      return check.ok ? 'verified' : check.reason;
    };
    expect(refused({ ...e, data: { ...e.data, mode: 'normal' } })).toMatch(/actor or data differ/);
    expect(refused({ ...e, actor: { id: 'ops-admin', kind: 'human' } })).toMatch(/actor or data differ/);
    expect(refused({ ...e, time: at(150_000).toISOString() })).toMatch(/seal names time/);
    expect(refused({ ...e, id: 'another-event' })).toMatch(/seal names eventId/);
    expect(refused({ ...e, subject: 'degradation-override' })).toMatch(/seal names subject/);
    // The same seal on the override topic's event of the same id: another type.
    expect(refused({ ...e, type: TOPICS.degradationOverrideSet } as unknown as Mode)).toMatch(/seal names type/);
    expect(refused(e, [stranger.verifyKey])).toMatch(/signature does not verify/);
    expect(refused(e, [])).toMatch(/no verify keys of the review queue are configured/);
    expect(refused({ ...e, data: { ...e.data, seal: undefined } })).toMatch(/not sealed/);
    expect(refused({ ...e, data: { ...e.data, seal: 'cf1.e30.AAAA' } })).toMatch(/unknown key id/);
  });

  it('a key seals only within its window, and a follower refuses a fact stamped outside the window of the key named', async () => {
    const old = generateSigningKey('review-queue-0', { notBefore: new Date(0), notAfter: at(-1_000) });
    const late = bus.envelope(TOPICS.degradationModeChanged, modeData('normal'), { subject: 'degradation-mode', time: at(0) });
    expect(() => sealEvent(old.signing, late)).toThrow(/no review-decision signing key is valid/);
    const early = await sealedMode('normal', at(-2_000), old.signing);
    const restamped = { ...early, time: at(0).toISOString() };
    expect(verifyEventSeal(early, [old.verifyKey])).toEqual({ ok: true });
    expect(verifyEventSeal(restamped, [old.verifyKey])).toMatchObject({ ok: false });
  });

  it('the mode follower: an unsealed fact on a topic with no genuine one leaves the mode unknown (nothing decides), not normal', async () => {
    const { state, logs, handle } = modeFollower();
    await handle(unsealedMode('normal', at(0)));
    state.caughtUp();
    expect(state.mode()).toBeUndefined();
    expect(state.notKnownReason()).toMatch(/no genuine degradation mode is in force: event .* was refused \(.*not sealed/);
    expect(logs).toContainEqual(expect.objectContaining({ alert: 'control-fact-refused', level: 50 }));
    // The controller publishes the mode again: it applies.
    await handle(await sealedMode('constrained', at(1_000)));
    expect(state.mode()).toBe('constrained');
  });

  it('the mode follower: a forged fact after a genuine one changes nothing, nor does a genuine older one sent again', async () => {
    const { state, handle } = modeFollower();
    const yesterday = await sealedMode('normal', at(0));
    await handle(yesterday);
    await handle(await sealedMode('halted', at(1_000)));
    state.caughtUp();
    expect(state.mode()).toBe('halted');
    await handle(unsealedMode('normal', at(2_000)));
    await handle(await sealedMode('normal', at(3_000), stranger.signing));
    expect(state.mode()).toBe('halted');
    // A replay: the genuine `normal` of before, sealed and all, read again after the `halted` that followed it.
    await handle(yesterday);
    expect(state.mode()).toBe('halted');
  });

  it('the mode follower with no verify keys applies nothing', async () => {
    const { state, handle } = modeFollower([]);
    await handle(await sealedMode('normal', at(0)));
    state.caughtUp();
    expect(state.mode()).toBeUndefined();
  });

  it('the trust follower: an unsealed or foreign "healthy" is refused with an alert, and trust stays unknown (fail closed)', async () => {
    const { state, logs, handle } = trustFollower();
    const unsealed = bus.envelope(TOPICS.trustHealthChanged, verdictData('healthy'), { subject: 'trust-health', time: at(0) });
    await handle(unsealed);
    await handle(await emitControlFact(bus, stranger.signing, TOPICS.trustHealthChanged, verdictData('healthy'), { subject: 'trust-health', time: at(0) }));
    state.caughtUp();
    expect(state.healthy()).toBe('unknown');
    expect(logs.filter((l) => l.alert === 'trust-health-refused')).toHaveLength(2);
    // A genuine unhealthy verdict applies; a forged healthy one after it does not lift it.
    await handle(
      await emitControlFact(bus, reviewQueue.signing, TOPICS.trustHealthChanged, verdictData('unhealthy'), { subject: 'trust-health', time: at(1_000) }),
    );
    expect(state.healthy()).toBe(false);
    await handle({ ...unsealed, id: 'later', time: at(2_000).toISOString() });
    expect(state.healthy()).toBe(false);
  });

  it('the trust follower applies an unsealed "unhealthy": it can only tighten (the monitor sends it so when its own key expired)', async () => {
    const { state, handle } = trustFollower();
    await handle(await emitControlFact(bus, reviewQueue.signing, TOPICS.trustHealthChanged, verdictData('healthy'), { subject: 'trust-health', time: at(0) }));
    state.caughtUp();
    expect(state.healthy()).toBe(true);
    await handle(bus.envelope(TOPICS.trustHealthChanged, verdictData('unhealthy'), { subject: 'trust-health', time: at(1_000) }));
    expect(state.healthy()).toBe(false);
    // … but not an unsealed `degraded` (still trusted): that would loosen an unhealthy verdict.
    await handle(bus.envelope(TOPICS.trustHealthChanged, verdictData('degraded'), { subject: 'trust-health', time: at(2_000) }));
    expect(state.healthy()).toBe(false);
  });

  it('an unsealed "unhealthy" stamped ahead counts as stamped now: the monitor\'s next sealed verdict outranks it (red team pass 6)', async () => {
    const { state, handle } = trustFollower();
    state.caughtUp();
    const ahead = new Date(Date.now() + 29_000);
    await handle(bus.envelope(TOPICS.trustHealthChanged, verdictData('unhealthy'), { subject: 'trust-health', time: ahead }));
    expect(state.healthy()).toBe(false);
    expect(Date.parse(state.latestEvent()!.time)).toBeLessThanOrEqual(Date.now());
    await handle(
      await emitControlFact(bus, reviewQueue.signing, TOPICS.trustHealthChanged, verdictData('healthy'), {
        subject: 'trust-health',
        time: new Date(Date.now() + 5),
      }),
    );
    expect(state.healthy()).toBe(true);
  });
});
