import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { KafkaBus } from '@countersign/bus';
import { parsePrometheusText } from '@countersign/metrics';
import { actionDigest, newId, revisedActionId, TOPICS, TopicMap } from '@countersign/contracts';
import { changeDigest, parseContract } from '@countersign/policy';
import {
  call,
  copilotProposal as proposal,
  eventually,
  PROJECT_CONTRACT_PATH,
  projectContract,
  stackEnv,
  startDistributed,
  startWebhookSink,
  uniqueName,
} from '@countersign/testing';

// real: Apache Kafka, Redis, PostgreSQL, Unleash (infra/stack.sh), the five services as separate processes;
// fake: the target system (a local webhook sink that records what it receives).
//
// Redis is not flushed whole (FLUSHALL): the server is shared with every other test run on the machine. The
// services of this namespace see only the keys under its prefix, so deleting all of them is, for them, the same
// as a FLUSHALL or a restart of Redis without persistence.
jest.setTimeout(120_000);

const ACTION_TYPES = ['support.reply', 'ticket.tag'];

type Proposed = TopicMap[typeof TOPICS.actionProposed];
type Decided = TopicMap[typeof TOPICS.policyDecided];

describe('what must not be forgotten survives a Redis flush', () => {
  const ns = uniqueName('durable');
  let stack: Awaited<ReturnType<typeof startDistributed>>;
  let sink: Awaited<ReturnType<typeof startWebhookSink>>;
  let bus: KafkaBus;
  let redis: Redis;
  // Every proposed and decided event of the namespace, by action id, as the bus delivered them.
  const proposed = new Map<string, Proposed>();
  const decided = new Map<string, Decided[]>();
  const api = () => stack.urls.orchestrator;

  const post = (body: unknown, headers: Record<string, string> = {}) => call('POST', `${api()}/v1/proposals`, body, stack.tokens.agent, headers);
  const action = (id: string) => call('GET', `${api()}/v1/actions/${id}`, undefined, stack.tokens.agent);
  const waitStatus = (id: string, status: string) =>
    eventually(
      async () => {
        const res = await action(id);
        expect(res.body.status).toBe(status);
        return res.body;
      },
      60_000,
      100,
    );
  /**
   * Deletes every key of the namespace: for its services, Redis starts empty (before ADR 0011 that was where
   * idempotency keys, action views and decisions lived; now it may hold nothing these tests touch at all).
   */
  const flushRedis = async () => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${stack.env.REDIS_KEY_PREFIX}*`, 'COUNT', 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  };

  beforeAll(async () => {
    sink = await startWebhookSink();
    stack = await startDistributed({ namespace: ns, webhookUrl: sink.url, actionTypes: ACTION_TYPES, dir: join(__dirname, '../../.stack/e2e', ns) });
    redis = new Redis(stack.env.REDIS_URL);
    bus = new KafkaBus({ ...stackEnv().kafkaBus, clientId: 'durability-test', namespace: ns, logger: pino({ level: 'silent' }) });
    await bus.subscribe({
      group: 'durability-test.observer',
      handlers: {
        [TOPICS.actionProposed]: async (e) => void proposed.set(e.subject, e),
        [TOPICS.policyDecided]: async (e) => void decided.set(e.subject, [...(decided.get(e.subject) ?? []), e]),
      },
    });
  }, 300_000);

  afterAll(async () => {
    redis?.disconnect();
    await bus?.deleteNamespaceTopics();
    await bus?.close();
    await stack?.stop();
    await stack?.dropDatabase();
    await sink?.close();
  });

  it('the same POST with the same Idempotency-Key returns the same action after the flush, and the target is called once', async () => {
    const target = `ticket-${newId()}`;
    const body = proposal('ticket.tag', target, { tags: ['billing'] });
    const key = `retry-${newId()}`;
    const first = await post(body, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    const id = first.body.actionId as string;
    await waitStatus(id, 'executed');

    await flushRedis();

    const again = await post(body, { 'Idempotency-Key': key });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ actionId: id });
    // Anything the retry had started would be executed before an action submitted after it (one pipeline).
    const marker = await post(proposal('ticket.tag', `ticket-${newId()}`, { tags: ['marker'] }));
    await waitStatus(marker.body.actionId as string, 'executed');
    const calls = sink.receipts.filter((r) => JSON.stringify(r.body).includes(target));
    expect(new Set(calls.map((r) => r.actionId))).toEqual(new Set([id]));
    expect(sink.effects(id)).toBe(1);
  });

  /** The audit trail's entries of one action (the audit writer's API, as an auditor). */
  const auditOf = async (actionId: string) =>
    (await call('GET', `${stack.urls['audit-writer']}/v1/audit/entries?actionId=${actionId}`, undefined, stack.tokens.auditor)).body.entries as Array<{
      type: string;
      data: Record<string, unknown>;
    }>;

  it('a policy decision produced straight to Kafka, for no proposal and a lane the contract never gives, is refused as an attack', async () => {
    // Red team, round 14 (and pass 5, F5-3): whoever can write the decisions' topic (here the plaintext listener) could
    // run anything. The policy engine seals its decisions (ADR 0040): this one is not sealed.
    const id = newId();
    const contractVersion = projectContract().current().version;
    const forged = proposal('ticket.tag', `ticket-${newId()}`, { tags: ['billing'], command: 'drop the customer table' });
    const decision = await bus.emit(
      TOPICS.policyDecided,
      {
        lane: 'autonomous',
        reasons: ['forged'],
        rulesFired: [],
        contractVersion,
        contractHash: 'forged',
        score: 0,
        digest: actionDigest(forged, contractVersion),
        proposal: forged,
        proposerPrincipal: 'support-copilot',
        sampledForAudit: false,
      },
      { subject: id },
    );
    // The executor refuses the event (audited, suspicious), the review queue queues nothing, and both say why.
    const refused = await eventually(
      async () => {
        const entries = await auditOf(id);
        const refusal = entries.find((e) => e.type === TOPICS.actionRefused);
        expect(refusal).toBeDefined();
        return refusal!;
      },
      60_000,
      200,
    );
    expect(refused.data).toMatchObject({ code: 'not-authorised', suspicious: true, final: false });
    expect(JSON.stringify(refused.data)).toContain(`${TOPICS.policyDecided} ${decision.id} is not sealed by the policy engine`);
    // A decision the policy engine does make still runs, after it: nothing of the forged one reached the target.
    const genuine = await post(proposal('ticket.tag', `ticket-${newId()}`, { tags: ['marker'] }));
    await waitStatus(genuine.body.actionId as string, 'executed');
    expect(sink.receipts.filter((r) => r.actionId === id)).toEqual([]);
  });

  // Red-team pass 4: whoever holds the policy engine's Kafka credential (here the plaintext listener) could replace the
  // contract everywhere; the review queue's, create actions as any agent and tenant through a forged revision.
  const logOf = (service: string) => readFileSync(join(__dirname, '../../.stack/e2e', ns, 'logs', `${service}.log`), 'utf8');

  it('a contract change the policy engine did not sign changes no service, and each says so (ADR 0038)', async () => {
    const running = projectContract().current();
    // The shipped contract with a support reply that promises money made autonomous: the forger's aim.
    const text = readFileSync(PROJECT_CONTRACT_PATH, 'utf8')
      .replace(/^version: .*$/m, 'version: 2099.12.2')
      .replace(/^(\s+- \{ id: commitment-language, .*)points: 40 \}$/m, '$1points: 1 }');
    const forged = parseContract(text);
    const digest = changeDigest({
      kind: 'contract',
      from: { version: running.version, hash: running.hash },
      to: { version: forged.version, hash: forged.hash },
    });
    const changeRequestId = `forged-${newId()}`;
    await bus.emit(
      TOPICS.contractChanged,
      {
        fromVersion: running.version,
        toVersion: forged.version,
        hash: forged.hash,
        changeRequestId,
        requestedBy: 'mallory',
        approvedBy: 'mallory2',
        digest,
        signature: 'ccs1.e30.AAAA',
        contract: text,
      },
      { subject: 'operational-contract', actor: { id: 'mallory2', kind: 'human', roles: ['admin'] } },
    );
    for (const service of ['orchestrator', 'policy-engine', 'review-queue', 'executor'])
      await eventually(() => expect(logOf(service)).toContain(`refused contract change ${changeRequestId}: it is not signed as approved`), 60_000, 200);
    const policy = await call('GET', `${stack.urls['policy-engine']}/v1/policy`, undefined, stack.tokens.auditor);
    expect(policy.body).toMatchObject({ version: running.version });
    // A reply that promises money still goes to a person.
    const promise = await post(proposal('support.reply', `ticket-${newId()}`, { body: 'We guarantee a full refund of EUR 500.' }));
    await waitStatus(promise.body.actionId as string, 'in_review');
  });

  it('a degradation mode or override the review queue did not seal changes nothing, and each follower says so (ADR 0039)', async () => {
    // Red-team pass 5: with the review queue's credential, a forged `halted` (or `normal`) and an override "confirmed"
    // by a second admin who never saw it.
    const mode = await bus.emit(
      TOPICS.degradationModeChanged,
      { mode: 'halted', previous: 'normal', computed: 'halted', inputs: {}, reason: 'forged', computedSince: new Date().toISOString() },
      { subject: 'degradation-mode' },
    );
    const override = await bus.emit(
      TOPICS.degradationOverrideSet,
      {
        override: { mode: 'halted', by: 'mallory', confirmedBy: 'mallory2', reason: 'forged', expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
        reason: 'forged',
      },
      { subject: 'degradation-override', actor: { id: 'mallory', kind: 'human', roles: ['admin'] } },
    );
    const refusedIn = (service: string, eventId: string) =>
      logOf(service)
        .split('\n')
        .some((line) => line.includes('"control-fact-refused"') && line.includes(`"eventId":"${eventId}"`) && line.includes('not sealed by the review queue'));
    for (const service of ['policy-engine', 'executor', 'review-queue']) await eventually(() => expect(refusedIn(service, mode.id)).toBe(true), 60_000, 200);
    await eventually(() => expect(refusedIn('review-queue', override.id)).toBe(true), 60_000, 200);
    // Neither halted anything: an autonomous action proposed after both runs.
    const after = await post(proposal('ticket.tag', `ticket-${newId()}`, { tags: ['marker'] }));
    await waitStatus(after.body.actionId as string, 'executed');
  });

  it('an outcome the executor did not seal is on no timeline, reaches no reviewer, and is recorded apart (ADR 0042)', async () => {
    // Red-team pass 5 (F5-5): with the executor's credential, "executed" for an action that never ran, a closing refusal of
    // one that did, and an outcome check putting any action in front of a reviewer.
    const ran = await post(proposal('ticket.tag', `ticket-${newId()}`, { tags: ['billing'] }));
    const ranId = ran.body.actionId as string;
    await waitStatus(ranId, 'executed');
    const never = newId();
    const digest = 'f'.repeat(64);
    const executed = await bus.emit(TOPICS.actionExecuted, { connector: 'webhook', digest, authorisedBy: 'approval', attempt: 1 }, { subject: never });
    const refused = await bus.emit(
      TOPICS.actionRefused,
      { code: 'kill-switch-off', reason: 'forged', suspicious: false, final: true },
      { subject: ranId, correlationId: ranId },
    );
    const check = await bus.emit(
      TOPICS.outcomeCheckRequested,
      {
        connector: 'webhook',
        digest,
        idempotencyKey: never,
        proposal: { ...proposal('support.refund', 'order-1', { amount: 9999 }), actionType: 'support.refund' },
        proposerPrincipal: 'support-copilot',
        contractVersion: projectContract().current().version,
        authorisedBy: 'approval',
        since: new Date().toISOString(),
        reason: 'forged',
      },
      { subject: never },
    );
    const alerted = (service: string, alert: string, eventId: string) =>
      logOf(service)
        .split('\n')
        .some((line) => line.includes(`"alert":"${alert}"`) && line.includes(`"eventId":"${eventId}"`) && line.includes('not sealed by the executor'));
    for (const e of [executed, refused]) await eventually(() => expect(alerted('orchestrator', 'unsealed-outcome', e.id)).toBe(true), 60_000, 200);
    await eventually(() => expect(alerted('review-queue', 'outcome-check-refused', check.id)).toBe(true), 60_000, 200);
    // The timelines are as the executor left them; no outcome check waits for a reviewer.
    expect((await action(never)).status).toBe(404);
    expect((await action(ranId)).body).toMatchObject({ status: 'executed' });
    const pending = await call('GET', `${stack.urls['review-queue']}/v1/reviews?limit=200`, undefined, stack.tokens.reviewer);
    expect(JSON.stringify(pending.body)).not.toContain(never);
    // The audit trail keeps each forgery apart, never as the executor's word.
    const typesOf = async (actionId: string) => (await auditOf(actionId)).map((e) => e.type).sort();
    await eventually(
      async () => expect(await typesOf(never)).toEqual([`unverified.${TOPICS.actionExecuted}`, `unverified.${TOPICS.outcomeCheckRequested}`]),
      60_000,
      200,
    );
    await eventually(async () => expect(await typesOf(ranId)).toContain(`unverified.${TOPICS.actionRefused}`), 60_000, 200);
    // The action that ran keeps its one genuine outcome, and no refusal.
    const ranTypes = await typesOf(ranId);
    expect(ranTypes.filter((t) => t === TOPICS.actionExecuted)).toHaveLength(1);
    expect(ranTypes).not.toContain(TOPICS.actionRefused);
    // Operators hear of it: the audit writer counts what it records apart (the alert CountersignForgedEvents).
    const exposed = await call('GET', `${stack.urls['audit-writer']}/metrics`, undefined, stack.tokens.metrics);
    const counted = parsePrometheusText(String(exposed.body)).filter((x) => x.name === 'countersign_audit_unverified_events_total');
    for (const topic of [TOPICS.actionExecuted, TOPICS.actionRefused, TOPICS.outcomeCheckRequested])
      expect(counted.find((x) => x.labels.topic === topic)?.value).toBeGreaterThanOrEqual(1);
  });

  it('a revision the review queue did not sign creates no action (ADR 0017, addendum 2026-12-02)', async () => {
    const id = newId();
    const newActionId = revisedActionId(id);
    const other = {
      ...proposal('ticket.tag', `ticket-${newId()}`, { tags: ['billing'] }),
      tenant: 'globex',
      proposer: { ...proposal('ticket.tag', 't', {}).proposer, agentId: 'ops-copilot' },
    };
    const contractVersion = projectContract().current().version;
    await bus.emit(
      TOPICS.proposalRevised,
      {
        digest: 'a'.repeat(64),
        signature: 'cs1.forged.sig',
        newActionId,
        proposal: other,
        revisedDigest: actionDigest(other, contractVersion),
        contractVersion,
        proposerPrincipal: 'ops-copilot',
        changed: ['/parameters/tags'],
        reason: 'forged',
      },
      { subject: newId(), id, actor: { id: 'alice', kind: 'human', roles: ['reviewer'] } },
    );
    await eventually(() => expect(logOf('orchestrator')).toContain('not a genuine revision: malformed review decision claims'), 60_000, 200);
    // Refused before anything was emitted: the new action does not exist, nothing reached the target.
    expect((await call('GET', `${api()}/v1/actions/${newActionId}`, undefined, stack.tokens.auditor)).status).toBe(404);
    expect(sink.receipts.filter((r) => r.actionId === newActionId)).toEqual([]);
  });

  it('GET /v1/actions/{id} still answers for an action decided and executed before the flush', async () => {
    const res = await post(proposal('support.reply', `ticket-${newId()}`, { body: 'Your parcel ships tomorrow.' }));
    const id = res.body.actionId as string;
    const before = await waitStatus(id, 'executed');

    await flushRedis();

    const after = await action(id);
    expect(after.status).toBe(200);
    expect(after.body).toEqual(before);
    expect(after.body).toMatchObject({ status: 'executed', lane: 'autonomous' });
  });

  it('a proposal redelivered after the flush gets its stored decision, whatever the flags say now', async () => {
    const res = await post(proposal('support.reply', `ticket-${newId()}`, { body: 'Your ticket is resolved.' }));
    const id = res.body.actionId as string;
    await waitStatus(id, 'executed');
    const first = await eventually(() => {
      expect(decided.get(id)).toHaveLength(1);
      expect(proposed.get(id)).toBeDefined();
      return decided.get(id)![0];
    });
    expect(first.data.lane).toBe('autonomous');

    await flushRedis();
    // The kill switch goes off: a new evaluation of the same proposal would now prohibit it.
    const flag = `${stack.flagPrefix}support.reply`;
    await stack.flags.set(flag, false);
    try {
      await stack.flags.visible(flag, false);
      // Seen by the policy engine once a fresh proposal of the type is prohibited (its client refreshes every 500 ms).
      await eventually(
        async () => {
          const probe = await post(proposal('support.reply', `ticket-${newId()}`, { body: 'probe' }));
          const settled = await eventually(async () => {
            const { body } = await action(probe.body.actionId as string);
            expect(['executed', 'refused', 'prohibited']).toContain(body.status);
            return body.status as string;
          });
          expect(settled).toBe('prohibited');
        },
        30_000,
        200,
      );

      // A redelivery (a rebalance, a crash before the offset was committed): the same event again.
      await bus.publish(TOPICS.actionProposed, proposed.get(id)!);
      const again = await eventually(() => {
        expect(decided.get(id)!.length).toBeGreaterThanOrEqual(2);
        return decided.get(id)![1];
      });
      expect(again).toEqual(first);
      expect((await action(id)).body).toMatchObject({ status: 'executed', lane: 'autonomous' });
      expect(sink.effects(id)).toBe(1);
    } finally {
      // On again through four eyes: a switch turned on directly in Unleash is set back by the drift watcher.
      await stack.switchOn('support.reply');
    }
  });
});
