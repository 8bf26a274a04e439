import pino from 'pino';
import { generateSigningKey, signApproval, signReviewDecision } from '@countersign/approval';
import { TOPICS, TopicMap } from '@countersign/contracts';
import type { SigningKey } from '@countersign/keys';
import { RecordingBus, refundProposal } from '@countersign/testing';
import type { FlagReader, FlagState } from '@countersign/flags';
import { METRIC_DEFINITIONS, Metrics, parsePrometheusText, sampleSum } from '@countersign/metrics';
import { DegradationModeState } from '@countersign/nest';
import { Connector, ConnectorCapabilities, ConnectorRegistry, ConnectorRequest, ConnectorResult, Delivery, TargetStatus } from '../connectors/connector';
import { idempotencyKeyOf } from '../execution/idempotency-key';
import { InMemoryExecutionRepository } from '../execution/in-memory-execution.repository';
import { OutcomeAnsweredEvent } from './outcome-answer';
import { Reconciler } from './reconciler.service';
import { ResendGate } from './resend-gate';

// real: Reconciler, the in-memory execution record, Ed25519 signing and verification, the in-memory bus (recording what it
// is given to publish), a prom-client registry; fake: the connector (its capabilities and answers), the clock.
const digest = 'd'.repeat(64);
const lease = 60_000;
const t0 = new Date('2026-11-24T10:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

function setup(
  capabilities: ConnectorCapabilities,
  results: ConnectorResult[] = [{ status: 'executed', externalRequestId: 'x-2', attempts: 1 }],
  gate?: ResendGate,
  maxResends?: number,
  batch = 50,
) {
  const bus = new RecordingBus({ source: 'executor', logger: pino({ level: 'silent' }) });
  const calls: Array<{ request: ConnectorRequest; key: string; delivery?: Delivery }> = [];
  const connector: Connector = {
    name: 'ledger',
    capabilities,
    execute: async (request, key, delivery) => (calls.push({ request, key, delivery }), results.shift() ?? { status: 'executed', attempts: 1 }),
  };
  const repo = new InMemoryExecutionRepository();
  const reviewQueue = generateSigningKey('rq-1');
  const logger = pino({ level: 'silent' });
  const settings = { leaseMs: lease, periodMs: 5_000, batch, ...(maxResends !== undefined && { maxResends }) };
  const metrics = new Metrics('executor', METRIC_DEFINITIONS, { defaultMetrics: false });
  const reconciler = new Reconciler(bus, repo, new ConnectorRegistry(connector), [reviewQueue.verifyKey], logger, settings, () => at(lease + 1), gate, metrics);
  /** The executor's outcome counter (and executed-actions counter) as scraped: the sum over the series with `labels`. */
  const counted = async (labels: Record<string, string>, name = 'countersign_execution_outcomes_total') =>
    sampleSum(parsePrometheusText(await metrics.render()), name, labels);
  /** An action the executor claimed at t0 and never finished: it died during the call. */
  const strand = async (actionId = 'a1', lane: 'autonomous' | 'review' = 'autonomous', when = t0) => {
    await repo.saveDecision({
      actionId,
      correlationId: `c-${actionId}`,
      decisionEventId: `decision-${actionId}`,
      digest,
      lane,
      proposal: refundProposal(),
      proposerPrincipal: 'support-copilot',
      contractVersion: '2026.11.1',
    });
    await repo.claim(actionId, lane === 'review' ? `approval-${actionId}` : `decision-${actionId}`, lane === 'review' ? `nonce-${actionId}` : null, when);
  };
  const events = <T extends keyof TopicMap>(topic: T) => bus.published.filter((p) => p.topic === topic).map((p) => p.event as TopicMap[T]);
  /** The review queue's answer to "did this happen?", signed by `key` as `decision` for `tokenFor` (a forger: another key). */
  const answer = (
    happened: boolean,
    o: { key?: SigningKey; decision?: 'happened' | 'not-happened' | 'approved'; tokenFor?: string; actionId?: string; id?: string; issuedAt?: Date } = {},
  ): OutcomeAnsweredEvent => {
    const actionId = o.actionId ?? 'a1';
    const decision = o.decision ?? (happened ? 'happened' : 'not-happened');
    const claims = {
      decision,
      actionId: o.tokenFor ?? actionId,
      digest,
      deciders: ['alice'],
      reasons: ['seen in the ledger'],
      issuedAt: (o.issuedAt ?? at(lease)).toISOString(),
    };
    const signature =
      decision === 'approved'
        ? signApproval(o.key ?? reviewQueue.signing, { ...claims, approvers: ['alice'], expiresAt: at(lease + 3_600_000).toISOString() })
        : signReviewDecision(o.key ?? reviewQueue.signing, claims);
    return {
      id: o.id ?? `answer-${actionId}-${happened}`,
      type: TOPICS.outcomeCheckAnswered,
      version: 1,
      source: 'review-queue',
      time: at(lease).toISOString(),
      subject: actionId,
      correlationId: `c-${actionId}`,
      causationId: `check-${actionId}`,
      actor: { id: 'alice', kind: 'human' },
      data: { happened, reviewers: [{ id: 'alice', kind: 'human' }], reason: 'seen in the ledger', digest, signature },
    };
  };
  return { bus, calls, repo, reconciler, strand, events, answer, reviewQueue, counted };
}

describe('Reconciler: unknown outcomes are settled, never by a second call without the key', () => {
  it('re-sends an action stranded in executing past its lease once, under the same key, and records it executed', async () => {
    const t = setup({ idempotentByKey: true });
    await t.strand();
    // Within the lease the first call may still be running: nothing is touched.
    expect(await t.reconciler.runOnce(at(lease - 1))).toBe(0);
    expect(t.calls).toHaveLength(0);
    expect(await t.reconciler.runOnce(at(lease + 1))).toBe(1);
    expect(t.calls.map((c) => c.key)).toEqual([idempotencyKeyOf('a1', digest)]);
    // Said to be a later delivery: a refusal now would not prove the first was not applied.
    expect(t.calls[0].delivery).toEqual({ again: true });
    expect(await t.repo.get('a1')).toMatchObject({ state: 'executed', reconcileAttempts: 1 });
    // Every step is on the record: the unknown outcome, then how it was settled.
    expect(t.events(TOPICS.actionFailed).map((e) => e.data)).toEqual([expect.objectContaining({ outcome: 'outcome_unknown' })]);
    expect(t.events(TOPICS.actionExecuted).map((e) => e.data)).toEqual([
      expect.objectContaining({ authorisedBy: 'autonomous-decision', externalRequestId: 'x-2', reconciliation: { method: 'resend', attempt: 1 } }),
    ]);
    // Settled: later looks leave it alone.
    expect(await t.reconciler.runOnce(at(10 * lease))).toBe(0);
    expect(t.calls).toHaveLength(1);
  });

  it('reports how many outcomes are unsettled and how long the oldest has been, for the alert on one nobody settles', async () => {
    // Neither status nor a resend under the key: a person is asked, and the action waits for the answer.
    const t = setup({ idempotentByKey: false });
    const gauge = (name: string) => t.counted({}, name);
    await t.strand('a1');
    await t.strand('a2', 'autonomous', at(30_000));
    expect(await t.reconciler.runOnce(at(lease))).toBe(1);
    expect(await t.repo.get('a1')).toMatchObject({ state: 'awaiting_check' });
    expect(await gauge('countersign_unsettled_outcomes')).toBe(1);
    expect(await gauge('countersign_unsettled_outcome_oldest_seconds')).toBe(0);
    // An hour on, nobody answered; a2 was stranded meanwhile: the oldest is a1's, from when its lease ran out.
    expect(await t.reconciler.runOnce(at(lease + 3_600_000))).toBe(1);
    expect(await gauge('countersign_unsettled_outcomes')).toBe(2);
    expect(await gauge('countersign_unsettled_outcome_oldest_seconds')).toBe(3_600);
    // a1 answered: only a2 is left, unsettled since its lease ran out (at 90 s), not since the look that found it.
    await t.reconciler.onOutcomeAnswered(t.answer(true));
    expect(await t.reconciler.runOnce(at(lease + 3_600_000 + 90_000))).toBe(0);
    expect(await gauge('countersign_unsettled_outcomes')).toBe(1);
    expect(await gauge('countersign_unsettled_outcome_oldest_seconds')).toBe(3_660);
  });

  it('counts an action stranded in executing past its lease before any reconciler claims it (kill -9 during the call)', async () => {
    const t = setup({ idempotentByKey: false }, [], undefined, undefined, 1);
    const gauge = (name: string) => t.counted({}, name);
    await t.strand('a1');
    await t.strand('a2');
    await t.strand('a3', 'autonomous', at(30_000));
    // Within the leases: calls in flight, nothing unsettled, nothing taken on.
    expect(await t.reconciler.runOnce(at(lease - 1))).toBe(0);
    expect(await gauge('countersign_unsettled_outcomes')).toBe(0);
    // Past the lease of a1 and a2; one look takes one on (its batch): both count, since their lease ran out.
    expect(await t.reconciler.runOnce(at(lease + 10_000))).toBe(1);
    expect(await gauge('countersign_unsettled_outcomes')).toBe(2);
    expect(await gauge('countersign_unsettled_outcome_oldest_seconds')).toBe(10);
    expect((await Promise.all(['a1', 'a2', 'a3'].map(async (id) => (await t.repo.get(id))!.state))).sort()).toEqual([
      'awaiting_check',
      'executing',
      'executing',
    ]);
  });

  it('re-sends an outcome the connector reported unknown at the next look, and tries again only after the lease when still unknown', async () => {
    const t = setup({ idempotentByKey: true }, [{ status: 'outcome_unknown', error: 'webhook answered 503' }]);
    await t.strand();
    await t.repo.finish('a1', 'outcome_unknown', undefined);
    expect(await t.reconciler.runOnce(at(1_000))).toBe(1);
    expect(await t.repo.get('a1')).toMatchObject({ state: 'reconciling' });
    expect(t.events(TOPICS.actionFailed).map((e) => e.data)).toEqual([
      expect.objectContaining({
        outcome: 'outcome_unknown',
        error: 're-sent under the same key: webhook answered 503',
        reconciliation: { method: 'resend', attempt: 1 },
      }),
    ]);
    expect(await t.reconciler.runOnce(at(1_000 + lease - 1))).toBe(0);
    expect(await t.reconciler.runOnce(at(1_000 + lease))).toBe(1);
    expect(t.calls.map((c) => c.key)).toEqual([idempotencyKeyOf('a1', digest), idempotencyKeyOf('a1', digest)]);
    expect(await t.repo.get('a1')).toMatchObject({ state: 'executed', reconcileAttempts: 2 });
  });

  it("sends nothing again before the time the target asked for (Retry-After), at the first call's answer or at a re-send's", async () => {
    const wait = 10 * lease;
    const t = setup({ idempotentByKey: true }, [
      { status: 'outcome_unknown', error: 'webhook answered 429: not now, to be sent again (the target asks to wait 600 s)', retryAfterMs: wait },
    ]);
    await t.strand();
    // The executor's call was answered 429 with Retry-After: 60 s from t0.
    await t.repo.finish('a1', 'outcome_unknown', undefined, undefined, at(lease));
    expect(await t.reconciler.runOnce(at(1_000))).toBe(0);
    expect(await t.reconciler.runOnce(at(lease - 1))).toBe(0);
    expect(t.calls).toEqual([]);
    // Its time came: re-sent, and answered 429 with Retry-After 600 s (longer than the lease): left alone until then.
    expect(await t.reconciler.runOnce(at(lease))).toBe(1);
    expect(t.calls).toHaveLength(1);
    expect(await t.reconciler.runOnce(at(2 * lease))).toBe(0);
    expect(await t.reconciler.runOnce(at(lease + wait - 1))).toBe(0);
    expect(t.calls).toHaveLength(1);
    expect(await t.reconciler.runOnce(at(lease + wait))).toBe(1);
    expect(t.calls).toHaveLength(2);
    expect(await t.repo.get('a1')).toMatchObject({ state: 'executed', reconcileAttempts: 2 });
  });

  it('does not send again while the kill switch is off or the mode is halted: held (on the record), sent once both are lifted', async () => {
    let killSwitch: FlagState = 'off';
    const flags = { state: () => killSwitch } as unknown as FlagReader;
    const mode = new DegradationModeState();
    mode.caughtUp();
    const t = setup({ idempotentByKey: true }, undefined, new ResendGate(flags, 'exec.', mode));
    await t.strand();
    await t.repo.finish('a1', 'outcome_unknown', undefined);
    expect(await t.reconciler.runOnce(at(1_000))).toBe(1);
    expect(t.calls).toHaveLength(0);
    expect(await t.repo.get('a1')).toMatchObject({ state: 'reconciling' });
    // The brake on (halted too): still not sent at the next look after the lease.
    mode.apply({ id: 'm-1', time: at(0).toISOString(), data: { mode: 'halted' } } as never);
    killSwitch = 'on';
    expect(await t.reconciler.runOnce(at(1_000 + lease))).toBe(1);
    expect(t.calls).toHaveLength(0);
    expect(t.events(TOPICS.actionHeld).map((e) => e.data)).toEqual([
      { code: 'kill-switch-off', reason: 'not sent again while the kill switch of support.refund is off' },
      { code: 'degradation-halted', reason: 'not sent again while the degradation mode is halted' },
    ]);
    // Both lifted: sent once, under the same key, and settled.
    mode.apply({ id: 'm-2', time: at(0).toISOString(), data: { mode: 'normal' } } as never);
    expect(await t.reconciler.runOnce(at(1_000 + 2 * lease))).toBe(1);
    expect(t.calls.map((c) => c.key)).toEqual([idempotencyKeyOf('a1', digest)]);
    expect(await t.repo.get('a1')).toMatchObject({ state: 'executed' });
  });

  it('does not send again while the audit trail cannot record: held, sent once it can (red team, 2026-12-05: only a first call was held)', async () => {
    const flags = { state: () => 'on' } as unknown as FlagReader;
    let unaudited: string | undefined = "the audit log cannot be written: EPERM: operation not permitted, open 'audit.jsonl'";
    const t = setup({ idempotentByKey: true }, undefined, new ResendGate(flags, 'exec.', undefined, undefined, () => unaudited));
    await t.strand();
    await t.repo.finish('a1', 'outcome_unknown', undefined);
    expect(await t.reconciler.runOnce(at(1_000))).toBe(1);
    expect(t.calls).toHaveLength(0);
    expect(t.events(TOPICS.actionHeld).map((e) => e.data)).toEqual([
      { code: 'audit-unavailable', reason: `not sent again while the audit trail cannot record (${unaudited})` },
    ]);
    // Held again at the next look: the same event id, so the audit trail keeps it once (soak probe, 2026-12-05: one
    // entry per look, 437 a minute for a kill switch left off).
    expect(await t.reconciler.runOnce(at(1_000 + lease))).toBe(1);
    const held = t.events(TOPICS.actionHeld);
    expect(held).toHaveLength(2);
    expect(held[1].id).toBe(held[0].id);
    unaudited = undefined;
    expect(await t.reconciler.runOnce(at(1_000 + 2 * lease))).toBe(1);
    expect(t.calls.map((c) => c.key)).toEqual([idempotencyKeyOf('a1', digest)]);
    expect(await t.repo.get('a1')).toMatchObject({ state: 'executed' });
  });

  it('asks the target where it can: done is executed without a call, not done (and not safe to re-send) is failed', async () => {
    const asked: string[] = [];
    const status = (s: TargetStatus) => async (key: string) => (asked.push(key), s);
    const done = setup({ idempotentByKey: false, statusQuery: status('done') });
    await done.strand();
    await done.reconciler.runOnce();
    expect(done.calls).toHaveLength(0);
    expect(await done.repo.get('a1')).toMatchObject({ state: 'executed' });
    expect(done.events(TOPICS.actionExecuted)[0].data.reconciliation).toEqual({ method: 'status', attempt: 1 });

    const notDone = setup({ idempotentByKey: false, statusQuery: status('not-done') });
    await notDone.strand();
    await notDone.reconciler.runOnce();
    expect(notDone.calls).toHaveLength(0);
    expect(await notDone.repo.get('a1')).toMatchObject({ state: 'failed' });
    expect(notDone.events(TOPICS.actionFailed).map((e) => e.data)).toEqual([
      expect.objectContaining({ outcome: 'outcome_unknown' }),
      expect.objectContaining({ outcome: 'failed', reconciliation: { method: 'status', attempt: 1 } }),
    ]);
    expect(asked).toEqual([idempotencyKeyOf('a1', digest), idempotencyKeyOf('a1', digest)]);
  });

  it('asks a person once the action was sent again on maxResends looks and the outcome is still unknown (no endless retry)', async () => {
    const unknown: ConnectorResult = { status: 'outcome_unknown', error: 'webhook answered 500' };
    const t = setup({ idempotentByKey: true }, [unknown, unknown, unknown, unknown], undefined, 3);
    await t.strand();
    await t.repo.finish('a1', 'outcome_unknown', undefined);
    for (let look = 0; look < 4; look++) expect(await t.reconciler.runOnce(at(1_000 + look * lease))).toBe(1);
    // Three re-sends under the key, then the question instead of a fourth.
    expect(t.calls).toHaveLength(3);
    expect(await t.repo.get('a1')).toMatchObject({ state: 'awaiting_check' });
    expect(t.events(TOPICS.outcomeCheckRequested).map((e) => e.data.reason)).toEqual([
      expect.stringMatching(/, and it was sent again under its key on 3 looks and the outcome is still unknown$/),
    ]);
    expect(await t.reconciler.runOnce(at(1_000 + 100 * lease))).toBe(0);
    expect(t.calls).toHaveLength(3);
  });

  it('asks a person "did this happen?" when the connector can neither re-send safely nor ask, once', async () => {
    const t = setup({ idempotentByKey: false });
    await t.strand('a1', 'review');
    await t.reconciler.runOnce(at(lease + 1));
    expect(t.calls).toHaveLength(0);
    expect(await t.repo.get('a1')).toMatchObject({ state: 'awaiting_check' });
    const [check] = t.events(TOPICS.outcomeCheckRequested);
    expect(check).toMatchObject({
      subject: 'a1',
      correlationId: 'c-a1',
      causationId: 'approval-a1',
      data: {
        connector: 'ledger',
        digest,
        idempotencyKey: idempotencyKeyOf('a1', digest),
        proposerPrincipal: 'support-copilot',
        contractVersion: '2026.11.1',
        authorisedBy: 'approval',
        since: t0.toISOString(),
      },
    });
    // Waiting for the person is not unsettled: no second question, however long it takes.
    expect(await t.reconciler.runOnce(at(100 * lease))).toBe(0);
    expect(t.events(TOPICS.outcomeCheckRequested)).toHaveLength(1);
  });

  it('records executed or failed from a signed answer, and a redelivered answer changes nothing more', async () => {
    const t = setup({ idempotentByKey: false });
    await t.strand('a1');
    await t.strand('a2');
    await t.reconciler.runOnce();
    await t.reconciler.onOutcomeAnswered(t.answer(true));
    await t.reconciler.onOutcomeAnswered(t.answer(false, { actionId: 'a2' }));
    expect(await t.repo.get('a1')).toMatchObject({ state: 'executed' });
    expect(await t.repo.get('a2')).toMatchObject({ state: 'failed' });
    expect(t.events(TOPICS.actionExecuted).map((e) => [e.subject, e.data.reconciliation])).toEqual([['a1', { method: 'person', attempt: 1 }]]);
    expect(t.events(TOPICS.actionFailed).filter((e) => e.data.outcome === 'failed')).toEqual([
      expect.objectContaining({ subject: 'a2', data: expect.objectContaining({ error: 'alice found the action did not take effect' }) }),
    ]);
    const published = t.bus.published.length;
    await t.reconciler.onOutcomeAnswered(t.answer(false)); // a1 is settled: a later answer changes nothing
    expect(await t.repo.get('a1')).toMatchObject({ state: 'executed' });
    expect(t.bus.published).toHaveLength(published);
    expect(t.calls).toHaveLength(0);
  });

  it('refuses a forged or misdirected answer as suspicious (audited), and the action keeps waiting for the genuine one', async () => {
    const t = setup({ idempotentByKey: false });
    await t.strand('a1');
    await t.strand('a2');
    await t.reconciler.runOnce();
    const forger = generateSigningKey('rq-1'); // same key id, another key
    await t.reconciler.onOutcomeAnswered(t.answer(true, { key: forger.signing, id: 'forged' }));
    await t.reconciler.onOutcomeAnswered(t.answer(true, { decision: 'approved', id: 'an-approval' }));
    await t.reconciler.onOutcomeAnswered(t.answer(true, { decision: 'not-happened', id: 'flipped' }));
    await t.reconciler.onOutcomeAnswered(t.answer(true, { tokenFor: 'a2', id: 'for-a2' }));
    // Genuine in form, but issued two days back: a key dated back (a retired one), not a person of today (red team, 2026-12-05).
    await t.reconciler.onOutcomeAnswered(t.answer(true, { id: 'dated-back', issuedAt: at(lease - 2 * 86_400_000) }));
    expect(t.events(TOPICS.actionRefused).map((e) => [e.causationId, e.data.code, e.data.suspicious])).toEqual([
      ['forged', 'invalid-decision', true],
      ['an-approval', 'decision-mismatch', true],
      ['flipped', 'decision-mismatch', true],
      ['for-a2', 'decision-for-other-action', true],
      ['dated-back', 'invalid-decision', true],
    ]);
    expect(await t.repo.get('a1')).toMatchObject({ state: 'awaiting_check' });
    expect(t.events(TOPICS.actionExecuted)).toHaveLength(0);
    await t.reconciler.onOutcomeAnswered(t.answer(true));
    expect(await t.repo.get('a1')).toMatchObject({ state: 'executed' });
  });

  it('lets one of two reconcilers take each action: one re-send, not two', async () => {
    const t = setup({ idempotentByKey: true });
    await t.strand('a1');
    await t.strand('a2');
    const other = new Reconciler(
      t.bus,
      t.repo,
      new ConnectorRegistry({
        name: 'ledger',
        capabilities: { idempotentByKey: true },
        execute: async (r, k) => (t.calls.push({ request: r, key: k }), { status: 'executed', attempts: 1 }),
      }),
      [t.reviewQueue.verifyKey],
      pino({ level: 'silent' }),
      { leaseMs: lease, periodMs: 5_000, batch: 50 },
    );
    const taken = await Promise.all([t.reconciler.runOnce(at(lease + 1)), other.runOnce(at(lease + 1))]);
    expect(taken.reduce((a, b) => a + b)).toBe(2);
    expect(t.calls.map((c) => c.request.actionId).sort()).toEqual(['a1', 'a2']);
  });

  it('runs on its period once the app boots, and stops with it', async () => {
    const t = setup({ idempotentByKey: true });
    await t.strand('a1', 'autonomous', new Date());
    const live = new Reconciler(
      t.bus,
      t.repo,
      new ConnectorRegistry({ name: 'ledger', capabilities: { idempotentByKey: true }, execute: async () => ({ status: 'executed', attempts: 1 }) }),
      [],
      pino({ level: 'silent' }),
      { leaseMs: 10, periodMs: 10, batch: 50 },
    );
    live.onApplicationBootstrap();
    try {
      const deadline = Date.now() + 5_000;
      while ((await t.repo.get('a1'))!.state !== 'executed') {
        if (Date.now() > deadline) throw new Error('the reconciler never ran');
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await live.beforeApplicationShutdown();
    }
  });

  it('lets no settle that never ends hold the others, the next look or its shutdown (hostile target probe, 2026-12-06)', async () => {
    const t = setup({ idempotentByKey: true });
    await t.strand('hung', 'autonomous', new Date());
    await t.strand('other', 'autonomous', new Date());
    const sent: string[] = [];
    const live = new Reconciler(
      t.bus,
      t.repo,
      new ConnectorRegistry({
        name: 'ledger',
        capabilities: { idempotentByKey: true },
        // The target never answers the hung action's re-send (a connector without a deadline of its own).
        execute: async (request) => (
          sent.push(request.actionId),
          request.actionId === 'hung' ? new Promise<never>(() => undefined) : { status: 'executed', attempts: 1 }
        ),
      }),
      [],
      pino({ level: 'silent' }),
      { leaseMs: 50, periodMs: 10, batch: 50 },
    );
    await new Promise((r) => setTimeout(r, 60));
    live.onApplicationBootstrap();
    try {
      const deadline = Date.now() + 5_000;
      // The other action is settled, and the hung one is looked at again on later looks (its lease runs out each time).
      while ((await t.repo.get('other'))!.state !== 'executed' || sent.filter((id) => id === 'hung').length < 3) {
        if (Date.now() > deadline) throw new Error(`the looks stopped: ${JSON.stringify(sent)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      const stopping = Date.now();
      await live.beforeApplicationShutdown();
      expect(Date.now() - stopping).toBeLessThan(3_000); // not held by the hung call (it never ends); a busy machine stops in far less
    }
  });

  it('counts how it settles each unknown outcome (via reconciliation), once, beside the unknown outcome the call left', async () => {
    const t = setup({ idempotentByKey: false });
    await t.strand('a1', 'review');
    await t.strand('a2');
    await t.reconciler.runOnce();
    // Stranded in executing: the reconciler records the unknown outcome, as a redelivery past the lease would. No end yet.
    expect(await t.counted({ outcome: 'unknown', via: 'execution' })).toBe(2);
    expect(await t.counted({ via: 'reconciliation' })).toBe(0);
    await t.reconciler.onOutcomeAnswered(t.answer(true));
    await t.reconciler.onOutcomeAnswered(t.answer(false, { actionId: 'a2' }));
    // A redelivered answer settles nothing more, and counts nothing more.
    await t.reconciler.onOutcomeAnswered(t.answer(true));
    expect(await t.counted({ outcome: 'executed', via: 'reconciliation' })).toBe(1);
    expect(await t.counted({ outcome: 'failed', via: 'reconciliation' })).toBe(1);
    expect(await t.counted({ outcome: 'unknown' })).toBe(2);
    // Carried out on its target after all: an executed action of its lane.
    expect(await t.counted({ action_type: 'support.refund', lane: 'review' }, 'countersign_actions_executed_total')).toBe(1);
    expect(await t.counted({}, 'countersign_actions_executed_total')).toBe(1);
  });

  it('counts nothing when the action was settled meanwhile by another (it counted its own): a settlement counts once', async () => {
    const t = setup({ idempotentByKey: true });
    await t.strand('a1');
    await t.repo.finish('a1', 'outcome_unknown', undefined);
    const metrics = new Metrics('executor', METRIC_DEFINITIONS, { defaultMetrics: false });
    const late = new Reconciler(
      t.bus,
      t.repo,
      new ConnectorRegistry({
        name: 'ledger',
        capabilities: { idempotentByKey: true },
        // During the re-send its lease runs out, and another reconciler records the action executed first.
        execute: async () => (await t.repo.settle('a1', { state: 'reconciling' }, 'executed', undefined), { status: 'executed', attempts: 1 }),
      }),
      [t.reviewQueue.verifyKey],
      pino({ level: 'silent' }),
      { leaseMs: lease, periodMs: 5_000, batch: 50 },
      undefined,
      undefined,
      metrics,
    );
    expect(await late.runOnce(at(1_000))).toBe(1);
    expect(await t.repo.get('a1')).toMatchObject({ state: 'executed' });
    const samples = parsePrometheusText(await metrics.render());
    expect(sampleSum(samples, 'countersign_execution_outcomes_total', { via: 'reconciliation' })).toBe(0);
    expect(sampleSum(samples, 'countersign_actions_executed_total')).toBe(0);
    // The executor counted the unknown outcome it recorded itself (`finish` here): the reconciler does not count it again.
    expect(sampleSum(samples, 'countersign_execution_outcomes_total', { outcome: 'unknown' })).toBe(0);
  });
});
