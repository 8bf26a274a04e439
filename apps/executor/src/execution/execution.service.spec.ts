import pino from 'pino';
import { readFileSync } from 'node:fs';
import { parseContract, RunningContract } from '@countersign/policy';
import {
  autonomousDecisionData,
  changedProjectContract,
  eventually,
  PROJECT_CONTRACT_PATH,
  projectContract,
  RecordingBus,
  sealTestDecision,
  smallRefundProposal,
  testPolicyEngineKey,
} from '@countersign/testing';
import { generateSigningKey, signApproval, signReviewDecision } from '@countersign/approval';
import type { SigningKey } from '@countersign/keys';
import { actionDigest, derivedEventId, Proposal, TOPICS, TopicMap } from '@countersign/contracts';
import { DependencyUnavailableError } from '@countersign/bus';
import { FlagReader, FlagState } from '@countersign/flags';
import { Connector, ConnectorRegistry, ConnectorRequest, ConnectorResult } from '../connectors/connector';
import { DEFAULT_RECONCILIATION } from '../reconciliation/reconciliation.settings';
import { InMemoryExecutionRepository } from './in-memory-execution.repository';
import { ExecutionService } from './execution.service';
import { OutcomeOutbox } from './outcome-outbox';

// real: ExecutionService, in-memory execution record, approval signing, the in-memory bus (which also records what it
// is given to publish), the project's contract (autonomous decisions are checked against it); fake: connector, flags.
const contract = projectContract();
const proposal: Proposal = smallRefundProposal();
const contractVersion = contract.current().version;
const digest = actionDigest(proposal, contractVersion);
type PolicyDecided = TopicMap[typeof TOPICS.policyDecided];
type ReviewDecided = TopicMap[typeof TOPICS.reviewDecided];

/**
 * The in-memory record, with a hook that runs when a method is entered (before it does anything): a test
 * places the other handler there to replay an interleaving of two consumers deterministically.
 */
class InterleavingRepository extends InMemoryExecutionRepository {
  private readonly hooks = new Map<string, Array<() => Promise<void>>>();

  /** Runs `hook` (once) when `method` is next entered, and waits for it before the method proceeds. */
  before(method: 'get' | 'keepEarlyApproval' | 'earlyApproval' | 'claim' | 'saveClaimedDecision' | 'release', hook: () => Promise<void>) {
    this.hooks.set(method, [...(this.hooks.get(method) ?? []), hook]);
  }

  private async enter(method: string) {
    const hook = this.hooks.get(method)?.shift();
    if (hook) await hook();
  }

  override async get(actionId: string) {
    await this.enter('get');
    return super.get(actionId);
  }

  override async keepEarlyApproval(actionId: string, event: Parameters<InMemoryExecutionRepository['keepEarlyApproval']>[1]) {
    await this.enter('keepEarlyApproval');
    return super.keepEarlyApproval(actionId, event);
  }

  override async earlyApproval(actionId: string) {
    await this.enter('earlyApproval');
    return super.earlyApproval(actionId);
  }

  override async claim(...args: Parameters<InMemoryExecutionRepository['claim']>) {
    await this.enter('claim');
    return super.claim(...args);
  }

  override async saveClaimedDecision(...args: Parameters<InMemoryExecutionRepository['saveClaimedDecision']>) {
    await this.enter('saveClaimedDecision');
    return super.saveClaimedDecision(...args);
  }

  override async release(...args: Parameters<InMemoryExecutionRepository['release']>) {
    await this.enter('release');
    return super.release(...args);
  }
}

/** The real in-memory bus, keeping a list of what it published. */
function setup(flag: FlagState = 'on', loadedAtStart = true, running = contract, maxInFlight?: number, leaseMs?: number) {
  let flagsLoaded = loadedAtStart;
  const bus = new RecordingBus({ source: 'executor', logger: pino({ level: 'silent' }) });
  const published = bus.published;
  const calls: Array<{ request: ConnectorRequest; key: string }> = [];
  let result: ConnectorResult = { status: 'executed', externalRequestId: 'x-1', attempts: 1 };
  /** While set, a call is made (counted) but does not answer until it resolves (a slow target). */
  let slow: Promise<void> | undefined;
  const connector: Connector = {
    name: 'test',
    capabilities: { idempotentByKey: false },
    ...(maxInFlight !== undefined && { maxInFlight }),
    execute: async (request, key) => {
      calls.push({ request, key });
      await slow;
      return result;
    },
  };
  const flags: FlagReader = {
    state: () => flag,
    variant: () => undefined,
    ready: async () => flagsLoaded,
    loaded: () => flagsLoaded,
    notLoadedReason: () => (flagsLoaded ? undefined : 'Unleash has not answered'),
    close: async () => undefined,
  };
  const { signing, verifyKey } = generateSigningKey('k1');
  const repo = new InterleavingRepository();
  const outbox = new OutcomeOutbox(bus, repo, pino({ level: 'silent' }), { graceMs: 0 });
  const service = new ExecutionService(
    bus,
    repo,
    new ConnectorRegistry(connector),
    flags,
    'exec.',
    [verifyKey],
    [testPolicyEngineKey.verifyKey],
    running,
    pino({ level: 'silent' }),
    outbox,
    ...(leaseMs !== undefined ? [{ ...DEFAULT_RECONCILIATION, leaseMs }] : []),
  );
  /** A decision as the policy engine seals it (docs/adr/0040). */
  const decided = (lane: 'autonomous' | 'review' | 'prohibited', actionId = 'a1') => sealTestDecision(unsealed(lane, actionId));
  const unsealed = (lane: 'autonomous' | 'review' | 'prohibited', actionId = 'a1'): TopicMap[typeof TOPICS.policyDecided] => ({
    id: `decision-${actionId}`,
    type: TOPICS.policyDecided,
    version: 1,
    source: 'policy-engine',
    time: new Date().toISOString(),
    subject: actionId,
    correlationId: 'c1',
    causationId: 'p1',
    actor: { id: 'policy-engine', kind: 'service' },
    data: {
      lane,
      reasons: ['r'],
      rulesFired: [],
      contractVersion,
      contractHash: 'h',
      score: 0,
      digest,
      proposal,
      proposerPrincipal: 'support-copilot',
      sampledForAudit: false,
    },
  });
  const approval = (actionId = 'a1', tokenFor = actionId, id = `approval-${actionId}`): TopicMap[typeof TOPICS.reviewDecided] => ({
    id,
    type: TOPICS.reviewDecided,
    version: 1,
    source: 'review-queue',
    time: new Date().toISOString(),
    subject: actionId,
    correlationId: 'c1',
    causationId: `decision-${actionId}`,
    actor: { id: 'alice', kind: 'human' },
    data: {
      decision: 'approved',
      reviewers: [{ id: 'alice', kind: 'human' }],
      reason: 'ok',
      digest,
      approval: signApproval(signing, {
        actionId: tokenFor,
        digest,
        approvers: ['alice'],
        reasons: ['ok'],
        issuedAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      }),
    },
  });
  /** A rejection of `actionId`; its token signed by `key` for `tokenFor` and `tokenDigest`, or none at all. */
  const rejection = (
    actionId = 'a1',
    o: { key?: SigningKey | null; tokenFor?: string; tokenDigest?: string; id?: string } = {},
  ): TopicMap[typeof TOPICS.reviewDecided] => {
    const key = o.key === undefined ? signing : o.key;
    const issuedAt = new Date().toISOString();
    const signature =
      key &&
      signReviewDecision(key, {
        decision: 'rejected',
        actionId: o.tokenFor ?? actionId,
        digest: o.tokenDigest ?? digest,
        deciders: ['bob'],
        reasons: ['no'],
        issuedAt,
      });
    return {
      ...approval(actionId, actionId, o.id ?? `rejection-${actionId}`),
      actor: { id: 'bob', kind: 'human' },
      data: { decision: 'rejected', reviewers: [{ id: 'bob', kind: 'human' }], reason: 'no', digest, ...(signature ? { signature } : {}) },
    };
  };
  const refusals = () => published.filter((p) => p.topic === TOPICS.actionRefused).map((p) => p.event.data);
  return {
    service,
    repo,
    bus,
    outbox,
    published,
    calls,
    decided,
    unsealed,
    approval,
    rejection,
    refusals,
    signing,
    setResult: (r: ConnectorResult) => (result = r),
    /** Calls made from now on hang until the returned function is called. */
    slowTarget: () => {
      let answer!: () => void;
      slow = new Promise<void>((r) => (answer = r));
      return () => {
        slow = undefined;
        answer();
      };
    },
    /** The flag source answers, with the kill switch in state `now`. */
    loadFlags: (now: FlagState) => {
      flagsLoaded = true;
      flag = now;
    },
    /** The flag source becomes unreadable (a flag file moved away): not loaded, every flag `unknown`. */
    unloadFlags: () => {
      flagsLoaded = false;
      flag = 'unknown';
    },
  };
}

describe('ExecutionService', () => {
  it('acts on no decision the policy engine did not seal: unsealed, sealed by another key, or a seal moved from another decision (ADR 0040)', async () => {
    const t = setup();
    const other = generateSigningKey('test-policy-engine');
    const genuineForA2 = t.decided('autonomous', 'a2');
    const forged = [
      t.unsealed('autonomous', 'a1'),
      sealTestDecision(t.unsealed('autonomous', 'a1'), other.signing),
      // A genuine seal of a review decision, on the same event made autonomous; and a2's genuine seal on a1's decision.
      { ...t.decided('review', 'a1'), data: { ...t.decided('review', 'a1').data, lane: 'autonomous' as const } },
      { ...t.unsealed('autonomous', 'a1'), data: { ...t.unsealed('autonomous', 'a1').data, seal: genuineForA2.data.seal } },
    ];
    for (const e of forged) await t.service.onPolicyDecided(e);
    expect(t.calls).toHaveLength(0);
    // Nothing stored: the genuine decision of a1, when it comes, is the one that stands.
    expect(await t.repo.get('a1')).toBeUndefined();
    expect(t.refusals()).toEqual(
      forged.map(() =>
        expect.objectContaining({
          code: 'not-authorised',
          suspicious: true,
          final: false,
          reason: expect.stringMatching(/not a decision the policy engine made/),
        }),
      ),
    );
    await t.service.onPolicyDecided(t.decided('autonomous', 'a1'));
    expect(t.calls.map((c) => c.request.actionId)).toEqual(['a1']);
  });

  it('acts on the decision it stored first, not on a later copy of it that says otherwise (flags changed before a redelivery)', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    // The same decision event, evaluated again after the autonomy flag was raised: it must not execute.
    await t.service.onPolicyDecided(t.decided('autonomous'));
    expect(t.calls).toHaveLength(0);
    expect((await t.repo.get('a1'))!).toMatchObject({ state: 'decided', lane: 'review' });
    // The other way round: stored autonomous (and executed), a review copy changes nothing.
    await t.service.onPolicyDecided(t.decided('autonomous', 'a2'));
    await t.service.onPolicyDecided(t.decided('review', 'a2'));
    expect(t.calls.map((c) => c.request.actionId)).toEqual(['a2']);
  });

  it('runs the lane the policy engine sealed, not one written into its store (red team, 2026-12-07: a review row set to autonomous ran)', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    // Someone with the executor's database credential: the row says autonomous now.
    (t.repo as unknown as { records: Map<string, { lane: string }> }).records.get('a1')!.lane = 'autonomous';
    // The genuine decision delivered again (or any delivery of it) does not run it.
    await t.service.onPolicyDecided(t.decided('review'));
    expect(t.calls).toHaveLength(0);
    expect(t.refusals()).toEqual([
      expect.objectContaining({
        code: 'not-authorised',
        suspicious: true,
        reason: "the stored decision says autonomous, the policy engine's sealed decision says review: not executed",
      }),
    ]);
    expect((await t.repo.get('a1'))!.state).toBe('decided');
  });

  it("runs an approval only on the proposal it is bound to: one rewritten in the executor's store is refused (red team, 2026-12-07)", async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    const stored = (t.repo as unknown as { records: Map<string, { proposal: Proposal }> }).records.get('a1')!;
    const genuine = stored.proposal;
    stored.proposal = { ...genuine, target: 'order-ATTACKER', parameters: { ...genuine.parameters, amount: 48_000 } };
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(0);
    expect(t.refusals()).toEqual([
      expect.objectContaining({
        code: 'digest-mismatch',
        suspicious: true,
        reason: 'the stored proposal is not the one its approval is bound to (digest mismatch): not executed',
      }),
    ]);
    // The genuine proposal, as approved, runs.
    stored.proposal = genuine;
    const u = setup();
    await u.service.onPolicyDecided(u.decided('review'));
    await u.service.onReviewDecided(u.approval('a1'));
    expect(u.calls.map((c) => c.request.target)).toEqual([genuine.target]);
  });

  it('stores an autonomous decision every gate lets through already claimed (one write, no separate claim); a held one goes the long way', async () => {
    const t = setup('unknown', false);
    const writes: string[] = [];
    for (const m of ['saveDecision', 'saveClaimedDecision', 'claim'] as const) {
      const original = t.repo[m].bind(t.repo) as (...a: unknown[]) => Promise<unknown>;
      jest.spyOn(t.repo, m).mockImplementation((...a: unknown[]) => (writes.push(m), original(...a)) as never);
    }
    // Held (flags not loaded): stored as decided, not claimed, nothing called.
    await expect(t.service.onPolicyDecided(t.decided('autonomous'))).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(writes).toEqual(['saveDecision']);
    expect(await t.repo.get('a1')).toMatchObject({ state: 'decided' });
    // Delivered again once the flags are there: stored already, so claimed the usual way, and executed once.
    t.loadFlags('on');
    writes.length = 0;
    await t.service.onPolicyDecided(t.decided('autonomous'));
    expect(writes).toEqual(['saveClaimedDecision', 'claim']);
    // A new action whose gates all pass: one write stores it claimed, and it runs.
    writes.length = 0;
    await t.service.onPolicyDecided(t.decided('autonomous', 'a2'));
    expect(writes).toEqual(['saveClaimedDecision']);
    expect(t.calls.map((c) => c.request.actionId)).toEqual(['a1', 'a2']);
    expect(await t.repo.get('a2')).toMatchObject({ state: 'executed', authorisedBy: 'decision-a2' });
    // Its redelivery finds it stored: the recorded outcome goes out again, nothing is called or claimed.
    writes.length = 0;
    await t.service.onPolicyDecided(t.decided('autonomous', 'a2'));
    expect(writes).toEqual(['saveClaimedDecision']);
    expect(t.calls).toHaveLength(2);
    expect(t.published.filter((p) => p.topic === TOPICS.actionExecuted && p.event.subject === 'a2')).toHaveLength(2);
    // A review-lane decision is only stored.
    writes.length = 0;
    await t.service.onPolicyDecided(t.decided('review', 'a3'));
    expect(writes).toEqual(['saveDecision']);
  });

  it('a kill switch that reads unknown because the flag source is not loaded yet is retried, not refused; once loaded the action executes', async () => {
    const { service, calls, decided, refusals, repo, loadFlags } = setup('unknown', false);
    await expect(service.onPolicyDecided(decided('autonomous'))).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(refusals()).toEqual([]);
    expect((await repo.get('a1'))?.state).toBe('decided');
    loadFlags('on');
    await service.onPolicyDecided(decided('autonomous'));
    expect(calls).toHaveLength(1);
    expect(refusals()).toEqual([]);
  });

  it('a kill switch never seen once the flag source is loaded refuses for good (flag-unknown)', async () => {
    const { service, calls, decided, refusals } = setup('unknown', true);
    await service.onPolicyDecided(decided('autonomous'));
    expect(calls).toHaveLength(0);
    expect(refusals().map((r) => (r as { code: string }).code)).toEqual(['flag-unknown']);
  });

  describe('an autonomous decision the policy engine could not have made (red team, round 14: produced straight to Kafka)', () => {
    // Sealed: the re-check against the contract is a second wall, behind the seal (ADR 0040), for a decision the policy
    // engine's key signed but its contract would not have made (a bug, or the key itself in the wrong hands).
    const forged = (t: ReturnType<typeof setup>, actionId: string, data: Partial<TopicMap[typeof TOPICS.policyDecided]['data']>, time?: string) =>
      sealTestDecision({
        ...t.unsealed('autonomous', actionId),
        ...(time && { time }),
        data: { ...autonomousDecisionData(), ...data },
      });
    const codes = (t: ReturnType<typeof setup>) => t.refusals().map((r) => [(r as { code: string }).code, (r as { suspicious: boolean }).suspicious]);

    it('is refused as an attack, nothing called: a refund the contract sends to review, a type outside it, a proposal its digest does not name', async () => {
      const t = setup();
      const large = { ...smallRefundProposal('order-9'), parameters: { amount: 50_000, currency: 'EUR', reason: 'goodwill' } };
      const shell = { ...smallRefundProposal('prod-host-1'), actionType: 'shell.exec' };
      await t.service.onPolicyDecided(forged(t, 'f1', autonomousDecisionData(large)));
      await t.service.onPolicyDecided(forged(t, 'f2', autonomousDecisionData(shell)));
      // A genuine small refund's digest, on a large refund's proposal.
      await t.service.onPolicyDecided(forged(t, 'f3', { proposal: large }));
      expect(t.calls).toEqual([]);
      expect(codes(t)).toEqual([
        ['not-authorised', true],
        ['not-authorised', true],
        ['digest-mismatch', true],
      ]);
      expect((t.refusals()[0] as { reason: string }).reason).toMatch(/sends this proposal to review: not a decision the policy engine made/);
      for (const id of ['f1', 'f2', 'f3']) expect((await t.repo.get(id))!.state).toBe('refused');
      // What the policy engine does decide autonomous runs.
      await t.service.onPolicyDecided(forged(t, 'g1', autonomousDecisionData()));
      expect(t.calls.map((c) => c.request.actionId)).toEqual(['g1']);
    });

    it('is checked at the time the policy engine read the contract (evaluatedAt), not at the time its event was built', async () => {
      // The project contract with its night-time points made decisive: a small refund goes to review from 23:00 UTC.
      const text = readFileSync(PROJECT_CONTRACT_PATH, 'utf8').replace(
        'lt: 5 }, { field: time.hour, gte: 23 }] }, points: 5 }',
        'lt: 5 }, { field: time.hour, gte: 23 }] }, points: 50 }',
      );
      const night = new RunningContract(parseContract(text, 'night.yaml'));
      const t = setup('on', true, night);
      // The last 23:00:00.020 UTC before now (an authorisation older than a day is stale, so not a fixed date).
      const at = new Date();
      at.setUTCHours(23, 0, 0, 20);
      if (at.getTime() > Date.now()) at.setUTCDate(at.getUTCDate() - 1);
      const late = at.toISOString();
      const read = new Date(at.getTime() - 70).toISOString();
      // Read at 22:59:59.950, its event built at 23:00:00.020: runs. Without `evaluatedAt`, the event's time: refused.
      await t.service.onPolicyDecided(forged(t, 'e1', { ...autonomousDecisionData(smallRefundProposal(), night), evaluatedAt: read }, late));
      await t.service.onPolicyDecided(forged(t, 'e2', autonomousDecisionData(smallRefundProposal(), night), late));
      expect(t.calls.map((c) => c.request.actionId)).toEqual(['e1']);
      expect(codes(t)).toEqual([['not-authorised', true]]);
    });

    it('decided under a contract this executor has not got yet: retried, not refused; under an older one, judged by the running one', async () => {
      const t = setup();
      const newer = autonomousDecisionData(smallRefundProposal(), { current: () => ({ ...contract.current(), version: `${contractVersion}.1` }) } as never);
      await expect(t.service.onPolicyDecided(forged(t, 'n1', newer))).rejects.toBeInstanceOf(DependencyUnavailableError);
      expect(t.calls).toEqual([]);
      expect((await t.repo.get('n1'))!.state).toBe('decided');
      const older = { ...smallRefundProposal('order-8'), parameters: { amount: 50_000, currency: 'EUR', reason: 'goodwill' } };
      await t.service.onPolicyDecided(
        forged(t, 'o1', { ...autonomousDecisionData(older), contractVersion: '2020.1.1', digest: actionDigest(older, '2020.1.1') }),
      );
      expect(codes(t)).toEqual([['not-authorised', false]]);
      expect((t.refusals()[0] as { reason: string }).reason).toMatch(/^decided autonomous under contract 2020.1.1; contract .* now sends it to review/);
    });
  });

  it('executes an autonomous decision once, however often it is delivered, and republishes the same outcome event', async () => {
    const t = setup();
    const e = t.decided('autonomous');
    await t.service.onPolicyDecided(e);
    await t.service.onPolicyDecided(e);
    await t.service.onPolicyDecided(e);
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0].key).toMatch(/^[0-9a-f]{64}$/);
    const executed = t.published.filter((p) => p.topic === TOPICS.actionExecuted);
    expect(executed).toHaveLength(3);
    expect(new Set(executed.map((p) => p.event.id))).toEqual(new Set([derivedEventId(TOPICS.actionExecuted, e.id)]));
    expect((await t.repo.get('a1'))!.state).toBe('executed');
  });

  it('an outcome whose publish failed is published by the outbox, with the id a redelivery would give it; the target is called once', async () => {
    const t = setup();
    const e = t.decided('autonomous');
    t.bus.down = true;
    await expect(t.service.onPolicyDecided(e)).rejects.toThrow(DependencyUnavailableError);
    expect((await t.repo.get('a1'))!.state).toBe('executed');
    expect(await t.outbox.sweep()).toBe(0); // still down: nothing published, nothing lost
    t.bus.down = false;
    expect(await t.outbox.sweep()).toBe(1);
    expect(await t.outbox.sweep()).toBe(0); // recorded published: not again
    expect(t.calls).toHaveLength(1);
    expect(t.published.map((p) => [p.topic, p.event.id])).toEqual([[TOPICS.actionExecuted, derivedEventId(TOPICS.actionExecuted, e.id)]]);
  });

  it('a kill-switch refusal is recorded with its event, so it is heard of even when its publish failed', async () => {
    const t = setup('off');
    t.bus.down = true;
    await expect(t.service.onPolicyDecided(t.decided('autonomous'))).rejects.toThrow(DependencyUnavailableError);
    t.bus.down = false;
    expect(await t.outbox.sweep()).toBe(1);
    expect(t.calls).toHaveLength(0);
    expect(t.refusals().map((r) => (r as { code: string }).code)).toEqual(['kill-switch-off']);
  });

  it('says in the executed event how many requests carried the action (2 when the connector sent it once more)', async () => {
    const t = setup();
    t.setResult({ status: 'executed', attempts: 2 });
    await t.service.onPolicyDecided(t.decided('autonomous'));
    expect(t.published.map((p) => p.event.data)).toEqual([expect.objectContaining({ authorisedBy: 'autonomous-decision', attempt: 2 })]);
  });

  it('never executes a review-lane action without an approval, nor a prohibited one with one', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    await t.service.onPolicyDecided(t.decided('prohibited', 'a2'));
    await t.service.onReviewDecided(t.approval('a2'));
    expect(t.calls).toHaveLength(0);
    expect(t.published.map((p) => (p.event.data as { code?: string }).code)).toEqual(['not-authorised']);
  });

  it('reads its brakes again once a call can go out at once: a kill switch turned off while an action waits for a connection stops it (race probe, 2026-12-05)', async () => {
    // One connection to the target, busy with a slow call: the second action waits for it after its claim.
    const t = setup('on', true, contract, 1);
    const answer = t.slowTarget();
    const first = t.service.onPolicyDecided(t.decided('autonomous', 'a1'));
    await eventually(() => expect(t.calls).toHaveLength(1));
    const second = t.service.onPolicyDecided(t.decided('autonomous', 'a2'));
    await eventually(async () => expect(await t.repo.get('a2')).toMatchObject({ state: 'executing' }));
    // Off while a2 waits for the connection (its claim read "on"): once the call answers, a2 is refused, never sent.
    t.loadFlags('off');
    answer();
    await Promise.all([first, second]);
    expect(t.calls.map((c) => c.request.actionId)).toEqual(['a1']);
    expect(t.refusals()).toEqual([expect.objectContaining({ code: 'kill-switch-off', final: true })]);
    expect(await t.repo.get('a2')).toMatchObject({ state: 'refused' });
  });

  it('makes no call its claim’s lease no longer covers: after a long wait for a connection the claim is given back (red team, 2026-12-05)', async () => {
    const t = setup('on', true, contract, 1, 300);
    const answer = t.slowTarget();
    const first = t.service.onPolicyDecided(t.decided('autonomous', 'a1'));
    await eventually(() => expect(t.calls).toHaveLength(1));
    const second = t.service.onPolicyDecided(t.decided('autonomous', 'a2'));
    await eventually(async () => expect(await t.repo.get('a2')).toMatchObject({ state: 'executing' }));
    // The slow call outlasts a2's lease: past it the reconciler could take a2 for stranded; a2 is not sent.
    await new Promise((r) => setTimeout(r, 350));
    answer();
    await first;
    await expect(second).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(t.calls.map((c) => c.request.actionId)).toEqual(['a1']);
    // Given back: its redelivery claims it afresh and runs it.
    expect(await t.repo.get('a2')).toMatchObject({ state: 'decided' });
    await t.service.onPolicyDecided(t.decided('autonomous', 'a2'));
    expect(t.calls.map((c) => c.request.actionId)).toEqual(['a1', 'a2']);
  });

  it('reads the whole gate again before the call, not only the kill switch: a contract changed after the claim stops the action', async () => {
    const project = readFileSync(PROJECT_CONTRACT_PATH, 'utf8');
    /** The project's contract, until `change` swaps in another (as an approved change does, through `apply`). */
    class Changing extends RunningContract {
      private next?: RunningContract;
      change(to: RunningContract) {
        this.next = to;
      }
      override current() {
        return this.next?.current() ?? super.current();
      }
      override compiledContract() {
        return this.next?.compiledContract() ?? super.compiledContract();
      }
    }
    const running = new Changing(parseContract(project, 'project.yaml'));
    const t = setup('on', true, running, 1);
    const answer = t.slowTarget();
    const first = t.service.onPolicyDecided(t.decided('autonomous', 'a1'));
    await eventually(() => expect(t.calls).toHaveLength(1));
    const second = t.service.onPolicyDecided(t.decided('autonomous', 'a2'));
    await eventually(async () => expect(await t.repo.get('a2')).toMatchObject({ state: 'executing' }));
    // An approved change sends every refund to review while a2 waits: it is not run under the contract it no longer meets.
    running.change(changedProjectContract('2999.1.1', '{ review: 0 }'));
    answer();
    await Promise.all([first, second]);
    expect(t.calls.map((c) => c.request.actionId)).toEqual(['a1']);
    expect(t.refusals()).toEqual([
      expect.objectContaining({ code: 'not-authorised', reason: expect.stringContaining('contract 2999.1.1 now sends it to review') }),
    ]);
  });

  it('an autonomous decision whose autonomy was lowered since is refused for good; a level as high, or unreadable, leaves it', async () => {
    const t = setup();
    // The executor reads the autonomy flags as the policy engine does (the stricter of the type's and the default).
    const levels: Record<string, string> = {};
    const killSwitches = t.service['flags'];
    const flags: FlagReader = {
      ...killSwitches,
      state: (name, context) => (name.startsWith('cs.autonomy.') ? (name in levels ? 'on' : 'unknown') : killSwitches.state(name, context)),
      variant: (name, context) => (name.startsWith('cs.autonomy.') ? levels[name] : killSwitches.variant(name, context)),
    };
    Object.assign(t.service, { flags, autonomyPrefix: 'cs.autonomy.' });
    // Lowered to review-all while the decision waited (a halt held it, say): not run, and the agent reads why.
    levels['cs.autonomy.default'] = 'review-all';
    await t.service.onPolicyDecided(t.decided('autonomous'));
    expect(t.calls).toHaveLength(0);
    expect(t.refusals()).toEqual([
      {
        code: 'not-authorised',
        reason: `decided autonomous; autonomy for ${proposal.actionType} is review-all now, which sends it to review: not executed (propose it again)`,
        suspicious: false,
        final: true,
      },
    ]);
    // review-risky lets a low-risk refund run; no autonomy flag at all (unknown) adds nothing here.
    levels['cs.autonomy.default'] = 'review-risky';
    await t.service.onPolicyDecided(t.decided('autonomous', 'a2'));
    delete levels['cs.autonomy.default'];
    await t.service.onPolicyDecided(t.decided('autonomous', 'a3'));
    expect(t.calls.map((c) => c.request.actionId)).toEqual(['a2', 'a3']);
  });

  it('an approval given under an older contract is not executed when the running one now prohibits the proposal (lifecycle probe)', async () => {
    const next = (thresholds: string) => changedProjectContract('2999.1.1', thresholds);
    // Every refund prohibited from 2999.1.1 on: the approval given under the contract before is refused, for good.
    const t = setup('on', true, next('{ review: 0, prohibited: 0 }'));
    await t.service.onPolicyDecided(t.decided('review'));
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(0);
    expect(t.refusals()).toEqual([
      {
        code: 'not-authorised',
        reason: `approved under contract ${contractVersion}; contract 2999.1.1 now prohibits this proposal: not executed`,
        suspicious: false,
        final: true,
      },
    ]);
    // A newer contract that still sends it to review (or lets it run) leaves the approval standing.
    const u = setup('on', true, next('{ review: 0 }'));
    await u.service.onPolicyDecided(u.decided('review'));
    await u.service.onReviewDecided(u.approval('a1'));
    expect(u.calls).toHaveLength(1);
  });

  it('an approval stamped by a clock far ahead is refused as stale; one a minute ahead (clocks drift) runs (clock probe, 2026-12-05)', async () => {
    const ahead = (ms: number) => {
      const t = setup();
      // One reading of the clock: two would put a millisecond between the token's issue and expiry on a busy machine,
      // making it an hour and a millisecond long, which the executor refuses (CI, 2026-12-06).
      const base = Date.now() + ms;
      const at = (d: number) => new Date(base + d).toISOString();
      const token = signApproval(t.signing, { actionId: 'a1', digest, approvers: ['alice'], reasons: ['ok'], issuedAt: at(0), expiresAt: at(3600_000) });
      const approved = t.approval('a1');
      return { t, time: at(0), approval: { ...approved, time: at(0), data: { ...approved.data, approval: token } } };
    };
    // A year ahead: its hour would last a year once the clock is put right.
    const far = ahead(365 * 86_400_000);
    await far.t.service.onPolicyDecided(far.t.decided('review'));
    await far.t.service.onReviewDecided(far.approval);
    expect(far.t.calls).toHaveLength(0);
    expect(far.t.refusals()).toEqual([
      {
        code: 'authorisation-stale',
        reason: expect.stringMatching(
          new RegExp(
            `^approved at ${far.time.replace(/\./g, '\\.')}, 5256\\d\\d min ahead of the executor's clock: an authorisation stamped by a clock that ran ahead cannot be aged`,
          ),
        ),
        suspicious: false,
        final: true,
      },
    ]);
    const near = ahead(60_000);
    await near.t.service.onPolicyDecided(near.t.decided('review'));
    await near.t.service.onReviewDecided(near.approval);
    expect(near.t.calls).toHaveLength(1);
  });

  it('an approval that expired before its action could run (held meanwhile) closes the action as stale, not as an attack', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    const approved = t.approval('a1');
    const issuedAt = new Date(Date.now() - 2 * 3600_000).toISOString();
    const expiresAt = new Date(Date.now() - 3600_000).toISOString();
    const token = signApproval(t.signing, { actionId: 'a1', digest, approvers: ['alice'], reasons: ['ok'], issuedAt, expiresAt });
    await t.service.onReviewDecided({ ...approved, data: { ...approved.data, approval: token } });
    expect(t.calls).toHaveLength(0);
    expect(t.refusals()).toEqual([
      {
        code: 'authorisation-stale',
        reason: `approved, but not executed before the approval expired at ${expiresAt} (held meanwhile): propose again`,
        suspicious: false,
        final: true,
      },
    ]);
    expect((await t.repo.get('a1'))!.state).toBe('refused');
    // The same expired approval naming another action is still what it was: refused as suspicious, nothing closed.
    await t.service.onPolicyDecided(t.decided('review', 'a2'));
    const other = signApproval(t.signing, { actionId: 'a1', digest, approvers: ['alice'], reasons: ['ok'], issuedAt, expiresAt });
    const forA2 = t.approval('a2');
    await t.service.onReviewDecided({ ...forA2, data: { ...forA2.data, approval: other } });
    expect(t.refusals()[1]).toMatchObject({ code: 'invalid-approval', suspicious: true });
    expect((await t.repo.get('a2'))!.state).toBe('decided');
  });

  it('executes an approved action once; an approval that arrived before the decision is kept, not lost', async () => {
    const t = setup();
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(0);
    await t.service.onPolicyDecided(t.decided('review'));
    expect(t.calls).toHaveLength(1);
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(1);
  });

  // The review decision and the policy decision come on different topics, in no order: the two handlers may run
  // side by side. Each interleaving below is replayed step by step with the store's hooks.
  it('an approval kept early while the policy decision is stored and finds nothing to take is still executed (check after write)', async () => {
    const t = setup();
    // The review handler reads no record; before it keeps the approval, the policy handler runs to its end:
    // it stores the record and finds no early approval to take.
    t.repo.before('keepEarlyApproval', () => t.service.onPolicyDecided(t.decided('review')));
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls.map((c) => c.request.actionId)).toEqual(['a1']);
    expect((await t.repo.get('a1'))!.state).toBe('executed');
    expect(await t.repo.earlyApproval('a1')).toBeUndefined();
  });

  it('a rejection kept early in the same race still closes the action', async () => {
    const t = setup();
    t.repo.before('keepEarlyApproval', () => t.service.onPolicyDecided(t.decided('review')));
    await t.service.onReviewDecided(t.rejection('a1'));
    expect((await t.repo.get('a1'))!.state).toBe('rejected');
    expect(t.calls).toHaveLength(0);
  });

  it('an approval after the action was rejected is refused as a replay (audited), and a redelivered rejection or decision changes nothing', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    await t.service.onReviewDecided(t.rejection('a1'));
    expect((await t.repo.get('a1'))!.state).toBe('rejected');
    await t.service.onReviewDecided(t.rejection('a1'));
    await t.service.onPolicyDecided(t.decided('review'));
    expect(t.refusals()).toEqual([]);
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(0);
    expect(t.refusals()).toEqual([
      expect.objectContaining({
        code: 'approval-replayed',
        suspicious: true,
        final: false,
        reason: 'an approval for an action already rejected: not executed',
      }),
    ]);
    expect((await t.repo.get('a1'))!.state).toBe('rejected');
  });

  it('when both handlers find the early approval, only one takes it: the action executes once', async () => {
    const t = setup();
    // The review handler keeps the approval; before it looks for the record again, the policy handler stores the
    // record and takes the approval (and executes). The review handler then finds the record, and nothing to take.
    let policy: Promise<void> | undefined;
    t.repo.before('get', async () => undefined); // the review handler's first read: no record yet
    t.repo.before('get', async () => {
      policy = t.service.onPolicyDecided(t.decided('review'));
      await policy;
    });
    await t.service.onReviewDecided(t.approval('a1'));
    await policy;
    expect(t.calls).toHaveLength(1);
    expect(t.refusals()).toEqual([]);
    expect((await t.repo.get('a1'))!.state).toBe('executed');
  });

  it('with both handlers at the take at once, the approval is taken and executed exactly once', async () => {
    const t = setup();
    // The review handler keeps the approval and looks again; the policy handler, started then, stores the record and
    // reaches its take; the review handler finds the record and reaches its take too. Neither take runs before both
    // handlers are there.
    let arrived = 0;
    let bothThere!: () => void;
    const both = new Promise<void>((r) => (bothThere = r));
    let policyAtTake!: () => void;
    const policyThere = new Promise<void>((r) => (policyAtTake = r));
    t.repo.before('earlyApproval', async () => {
      policyAtTake();
      if (++arrived === 2) bothThere();
      await both;
    });
    t.repo.before('earlyApproval', async () => {
      if (++arrived === 2) bothThere();
      await both;
    });
    let policy: Promise<void> | undefined;
    t.repo.before('get', async () => undefined); // the review handler's first read: no record yet
    t.repo.before('get', async () => {
      policy = t.service.onPolicyDecided(t.decided('review'));
      await policyThere;
    });
    await t.service.onReviewDecided(t.approval('a1'));
    await policy;
    expect(arrived).toBe(2);
    expect(t.calls).toHaveLength(1);
    expect(t.refusals()).toEqual([]);
    expect((await t.repo.get('a1'))!.state).toBe('executed');
  });

  // What the chaos run found: the policy handler took the early approval, its execution was held (the flags, or the
  // degradation mode, not read yet after a restart) and the handler failed; its redelivery found nothing left to take.
  it('an early approval whose execution is held is not lost: the policy decision, delivered again, executes it', async () => {
    const t = setup('unknown', false);
    await t.service.onReviewDecided(t.approval('a1'));
    await expect(t.service.onPolicyDecided(t.decided('review'))).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(t.calls).toHaveLength(0);
    t.loadFlags('on');
    await t.service.onPolicyDecided(t.decided('review'));
    expect(t.calls.map((c) => c.request.actionId)).toEqual(['a1']);
    expect((await t.repo.get('a1'))!.state).toBe('executed');
    expect(t.refusals()).toEqual([]);
    // Acted on: no longer kept, and a further delivery of either event executes nothing more.
    expect(await t.repo.earlyApproval('a1')).toBeUndefined();
    await t.service.onPolicyDecided(t.decided('review'));
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(1);
    expect(t.refusals()).toEqual([]);
  });

  it('an early approval the review handler itself failed to act on is acted on at its redelivery, and then forgotten', async () => {
    const t = setup('unknown', false);
    // The review handler keeps it, finds the record stored meanwhile (by the policy handler, which found nothing yet),
    // acts on it, and fails: held until the flags are read.
    t.repo.before('keepEarlyApproval', async () => {
      await expect(t.service.onPolicyDecided(t.decided('review'))).resolves.toBeUndefined();
    });
    await expect(t.service.onReviewDecided(t.approval('a1'))).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(await t.repo.earlyApproval('a1')).toBeDefined();
    t.loadFlags('on');
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(1);
    expect(await t.repo.earlyApproval('a1')).toBeUndefined();
  });

  it('refuses a replayed approval (a second approval event for an executed action) as suspicious', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    await t.service.onReviewDecided(t.approval('a1'));
    await t.service.onReviewDecided(t.approval('a1', 'a1', 'replayed-event-id'));
    expect(t.calls).toHaveLength(1);
    const refused = t.published.filter((p) => p.topic === TOPICS.actionRefused);
    expect(refused.map((p) => p.event.data)).toEqual([expect.objectContaining({ code: 'approval-replayed', suspicious: true })]);
  });

  it('refuses an approval for another action id', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review', 'b1'));
    await t.service.onReviewDecided(t.approval('b1', 'a1'));
    expect(t.calls).toHaveLength(0);
    expect(t.published[0].event.data).toMatchObject({ code: 'approval-for-other-action', suspicious: true });
  });

  it('an unsigned rejection changes nothing and is refused as suspicious: the genuine approval that follows executes', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    await t.service.onReviewDecided(t.rejection('a1', { key: null, id: 'forged' }));
    expect((await t.repo.get('a1'))!.state).toBe('decided');
    // The forged event is refused, not the action (`final: false`): its timeline and completeness go on without it.
    expect(t.refusals()).toEqual([{ code: 'invalid-decision', reason: 'rejected without a signed decision token', suspicious: true, final: false }]);
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls.map((c) => c.request.actionId)).toEqual(['a1']);
  });

  it('a rejection signed by an unknown key, or for another action or digest, is ignored and audited; the approval still executes', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    await t.service.onReviewDecided(t.rejection('a1', { key: generateSigningKey('k1').signing, id: 'r1' }));
    await t.service.onReviewDecided(t.rejection('a1', { tokenFor: 'a2', id: 'r2' }));
    await t.service.onReviewDecided(t.rejection('a1', { tokenDigest: 'e'.repeat(64), id: 'r3' }));
    expect(t.refusals()).toEqual([
      expect.objectContaining({ code: 'invalid-decision', suspicious: true }),
      expect.objectContaining({ code: 'decision-for-other-action', suspicious: true }),
      expect.objectContaining({ code: 'digest-mismatch', suspicious: true }),
    ]);
    expect((await t.repo.get('a1'))!.state).toBe('decided');
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(1);
  });

  it('a genuine signed rejection closes the action: nothing executes, not even an approval that comes after it', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    await t.service.onReviewDecided(t.rejection('a1'));
    expect((await t.repo.get('a1'))!.state).toBe('rejected');
    expect(t.refusals()).toEqual([]);
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(0);
  });

  it('a genuine rejection that arrives before its policy decision is kept, and closes the action when the decision comes', async () => {
    const t = setup();
    await t.service.onReviewDecided(t.rejection('a1'));
    await t.service.onPolicyDecided(t.decided('review'));
    expect((await t.repo.get('a1'))!.state).toBe('rejected');
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(0);
  });

  it('a signed expiry (the review clock) closes the action as expired, after an escalation that changed nothing: nothing executes', async () => {
    const t = setup();
    const clock = { id: 'review-queue', kind: 'service' as const, authMethod: 'service' as const };
    const byClock = (decision: 'escalated' | 'expired', id: string, actionId = 'a1'): TopicMap[typeof TOPICS.reviewDecided] => {
      const signature = signReviewDecision(t.signing, {
        decision,
        actionId,
        digest,
        deciders: ['review-queue'],
        reasons: ['sla'],
        issuedAt: new Date().toISOString(),
      });
      return { ...t.approval(actionId, actionId, id), actor: clock, data: { decision, reviewers: [clock], reason: 'sla', digest, signature } };
    };
    await t.service.onPolicyDecided(t.decided('review'));
    await t.service.onReviewDecided(byClock('escalated', 'escalated-a1'));
    expect((await t.repo.get('a1'))!.state).toBe('decided');
    await t.service.onReviewDecided(byClock('expired', 'expired-a1'));
    expect((await t.repo.get('a1'))!.state).toBe('expired');
    // An approval after the expiry is a replay: refused as an event (red team F4), the action stays expired.
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(0);
    expect((await t.repo.get('a1'))!.state).toBe('expired');
    expect(t.refusals()).toEqual([
      expect.objectContaining({ code: 'approval-replayed', final: false, reason: 'an approval for an action already expired: not executed' }),
    ]);
    // The same when the expiry comes before the policy decision (the two topics have no order).
    await t.service.onReviewDecided(byClock('expired', 'expired-a2', 'a2'));
    await t.service.onPolicyDecided(t.decided('review', 'a2'));
    expect((await t.repo.get('a2'))!.state).toBe('expired');
    expect(t.calls).toHaveLength(0);
  });

  it('a genuine rejection token sent as an approval executes nothing and is refused as suspicious', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    const e = t.approval('a1');
    await t.service.onReviewDecided({ ...e, data: { ...e.data, approval: undefined, signature: t.rejection('a1').data.signature } });
    expect(t.calls).toHaveLength(0);
    expect(t.refusals()).toEqual([expect.objectContaining({ code: 'decision-mismatch', suspicious: true })]);
  });

  it.each([
    ['off', 'kill-switch-off'],
    ['unknown', 'flag-unknown'],
  ] as const)('a kill switch that reads %s refuses execution (%s)', async (state, code) => {
    const t = setup(state);
    await t.service.onPolicyDecided(t.decided('autonomous'));
    expect(t.calls).toHaveLength(0);
    expect(t.published.map((p) => p.event.data)).toEqual([expect.objectContaining({ code, suspicious: false })]);
    expect((await t.repo.get('a1'))!.state).toBe('refused');
  });

  it.each([
    ['an autonomous action being stored', 'saveClaimedDecision', false],
    ['an approved action being claimed', 'claim', true],
  ] as const)('a kill switch turned off while %s stops it before the target is called (read again at the call)', async (_, method, approved) => {
    const t = setup('on');
    if (approved) await t.service.onPolicyDecided(t.decided('review'));
    // The switch goes off after the gate let the action through, while its claim is being written.
    t.repo.before(method, async () => t.loadFlags('off'));
    if (approved) await t.service.onReviewDecided(t.approval('a1'));
    else await t.service.onPolicyDecided(t.decided('autonomous'));
    expect(t.calls).toHaveLength(0);
    expect(t.refusals()).toEqual([expect.objectContaining({ code: 'kill-switch-off', final: true })]);
    expect((await t.repo.get('a1'))!.state).toBe('refused');
  });

  describe('flags that cannot be read at the call (red team, 2026-12-05: a flag file moved aside for 0.3 s refused an action for good)', () => {
    it.each([
      ['an autonomous action being stored', 'saveClaimedDecision', false],
      ['an approved action being claimed', 'claim', true],
    ] as const)('hold %s, not refuse it: the claim is given back, and once the flags load it executes once', async (_, method, approved) => {
      const t = setup('on');
      if (approved) await t.service.onPolicyDecided(t.decided('review'));
      const event = approved ? t.approval('a1') : t.decided('autonomous');
      const deliver = () => (approved ? t.service.onReviewDecided(event as ReviewDecided) : t.service.onPolicyDecided(event as PolicyDecided));
      // The flag source goes away after the gate let the action through, while its claim is being written.
      t.repo.before(method, async () => t.unloadFlags());
      await expect(deliver()).rejects.toBeInstanceOf(DependencyUnavailableError);
      expect(t.calls).toHaveLength(0);
      expect(t.refusals()).toEqual([]);
      expect(t.published).toEqual([]);
      expect(await t.repo.get('a1')).toMatchObject({ state: 'decided' });
      // Delivered again while the flags are still away: it waits at the gate.
      await expect(deliver()).rejects.toBeInstanceOf(DependencyUnavailableError);
      expect(t.calls).toHaveLength(0);
      // The flags are back: the delivery executes it (the approval's nonce was given back with the claim), once; a
      // further delivery publishes the same outcome again and calls nothing.
      t.loadFlags('on');
      await deliver();
      await deliver();
      expect(t.calls.map((c) => c.request.actionId)).toEqual(['a1']);
      expect(t.refusals()).toEqual([]);
      expect(await t.repo.get('a1')).toMatchObject({ state: 'executed', authorisedBy: event.id });
      const executed = t.published.filter((p) => p.topic === TOPICS.actionExecuted).map((p) => p.event.id);
      expect(executed).toHaveLength(2);
      expect(new Set(executed).size).toBe(1);
    });

    it('once they load with the kill switch off, the action is refused then, for that final reason', async () => {
      const t = setup('on');
      t.repo.before('saveClaimedDecision', async () => t.unloadFlags());
      const e = t.decided('autonomous');
      await expect(t.service.onPolicyDecided(e)).rejects.toBeInstanceOf(DependencyUnavailableError);
      t.loadFlags('off');
      await t.service.onPolicyDecided(e);
      expect(t.calls).toHaveLength(0);
      expect(t.refusals()).toEqual([expect.objectContaining({ code: 'kill-switch-off', final: true })]);
    });

    it('an early approval another delivery found in flight stays kept when the claim is given back: executed once the flags load', async () => {
      const t = setup('on');
      const approval = t.approval('a1');
      await t.service.onReviewDecided(approval); // before its policy decision: kept
      // The policy handler takes the early approval and claims the action; the flags go away before the call; as its
      // claim is given back, the approval is delivered again, finds the action in flight, and leaves it to that delivery.
      t.repo.before('claim', async () => t.unloadFlags());
      t.repo.before('release', async () => {
        await t.service.onReviewDecided(approval);
      });
      await expect(t.service.onPolicyDecided(t.decided('review'))).rejects.toBeInstanceOf(DependencyUnavailableError);
      expect(t.calls).toHaveLength(0);
      expect(await t.repo.earlyApproval('a1')).toBeDefined();
      t.loadFlags('on');
      await t.service.onPolicyDecided(t.decided('review'));
      expect(t.calls.map((c) => c.request.actionId)).toEqual(['a1']);
      expect(t.refusals()).toEqual([]);
      expect(await t.repo.earlyApproval('a1')).toBeUndefined();
    });
  });

  it('records a failed or unknown outcome and never calls the target again on redelivery', async () => {
    const t = setup();
    t.setResult({ status: 'outcome_unknown', error: 'timeout' });
    await t.service.onPolicyDecided(t.decided('autonomous'));
    await t.service.onPolicyDecided(t.decided('autonomous'));
    expect(t.calls).toHaveLength(1);
    expect(t.published.filter((p) => p.topic === TOPICS.actionFailed).map((p) => p.event.data)).toEqual([
      expect.objectContaining({ outcome: 'outcome_unknown' }),
      expect.objectContaining({ outcome: 'outcome_unknown' }),
    ]);
  });

  it('a redelivery after the executor died mid-call reports outcome_unknown instead of calling again', async () => {
    const t = setup();
    const e = t.decided('autonomous');
    await t.repo.saveDecision({ actionId: 'a1', correlationId: 'c1', decisionEventId: e.id, digest, lane: 'autonomous', proposal });
    await t.repo.claim('a1', e.id, null, new Date(Date.now() - 120_000)); // claimed two minutes ago, never finished
    await t.service.onPolicyDecided(e);
    expect(t.calls).toHaveLength(0);
    expect(t.published[0].event.data).toMatchObject({ outcome: 'outcome_unknown' });
  });
});
