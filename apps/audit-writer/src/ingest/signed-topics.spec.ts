// real: the entry builder, the seals and signatures of libs/approval and libs/policy (Ed25519 keys made here or by
// libs/testing), the project's contract text; fake: the chain (records appends).
import { readFileSync } from 'node:fs';
import type { AuditEntry } from '@countersign/audit-chain';
import { generateSigningKey, sealEvent, signReviewDecision } from '@countersign/approval';
import { actionDigest, Envelope, revisedActionId, Topic, TOPIC_SCHEMAS, TOPICS, TopicMap } from '@countersign/contracts';
import { parseContract, signContractChange } from '@countersign/policy';
import {
  PROJECT_CONTRACT_PATH,
  refundProposal,
  reviewLaneDecision,
  sealTestOutcome,
  testExecutorKey,
  testPolicyEngineKey,
  testReviewQueueKey,
  trustHealthData,
} from '@countersign/testing';
import { Metrics, parsePrometheusText } from '@countersign/metrics';
import type { AuditChainService } from '../chain/audit-chain.service';
import { AuditConsumer, SealKeys, SIGNED_TOPIC_CHECKS, UNCHECKED_SIGNED_TOPICS } from './audit.consumer';

/** The log's pseudonym key in these tests (a real log makes 32 random bytes: `AuditLogRepository.pseudonymKey`). */
const PSEUDONYM_KEY = Buffer.alloc(32, 7);

const contractKey = generateSigningKey('contract-changes-test');
const KEYS: SealKeys = {
  decisions: [testPolicyEngineKey.verifyKey],
  reviewQueue: [testReviewQueueKey.verifyKey],
  contractChanges: [contractKey.verifyKey],
  outcomes: [testExecutorKey.verifyKey],
};
const TIME = '2026-12-03T08:00:00.000Z';
const DIGEST = 'a'.repeat(64);

const envelope = <T extends Topic>(type: T, id: string, actor: Envelope['actor'], data: TopicMap[T]['data']): TopicMap[T] =>
  ({ id, type, version: 1, source: 'test', time: TIME, subject: 'a-1', correlationId: 'c-1', causationId: 'q-1', actor, data }) as TopicMap[T];
const reviewQueue: Envelope['actor'] = { id: 'review-queue', kind: 'service' };
const policyEngine: Envelope['actor'] = { id: 'policy-engine', kind: 'service' };
const executor: Envelope['actor'] = { id: 'executor', kind: 'service' };
const alice: Envelope['actor'] = { id: 'alice', kind: 'human', roles: ['reviewer'], authMethod: 'oidc' };

const sealedByReviewQueue = <E extends Envelope & { data: object }>(e: E): E => ({ ...e, data: { ...e.data, seal: sealEvent(testReviewQueueKey.signing, e) } });
const token = (decision: 'approved' | 'rejected' | 'revised' | 'happened' | 'not-happened', extra: object = {}) =>
  signReviewDecision(testReviewQueueKey.signing, {
    decision,
    actionId: 'a-1',
    digest: DIGEST,
    deciders: ['alice'],
    reasons: ['checked'],
    issuedAt: TIME,
    ...(decision === 'approved' && { expiresAt: '2026-12-04T08:00:00.000Z' }),
    ...extra,
  });

/** A revision as the review queue publishes it (docs/adr/0017): alice approved a-1 with a smaller amount. */
function revision(): TopicMap[typeof TOPICS.proposalRevised] {
  const proposal = { ...refundProposal(), parameters: { ...refundProposal().parameters, amount: 20 } };
  const data = {
    digest: DIGEST,
    newActionId: revisedActionId('rev-1'),
    proposal,
    revisedDigest: actionDigest(proposal, '2026.12.7'),
    contractVersion: '2026.12.7',
    proposerPrincipal: 'support-copilot',
    changed: ['/parameters/amount'],
    reason: 'a smaller refund',
  };
  const signature = token('revised', {
    revision: {
      newActionId: data.newActionId,
      revisedDigest: data.revisedDigest,
      proposerPrincipal: data.proposerPrincipal,
      contractVersion: data.contractVersion,
    },
  });
  return envelope(TOPICS.proposalRevised, 'rev-1', alice, { ...data, signature } as never);
}

/** A contract change as the policy engine announces it once a second admin approved it (docs/adr/0038). */
function contractChange(): TopicMap[typeof TOPICS.contractChanged] {
  const text = readFileSync(PROJECT_CONTRACT_PATH, 'utf8');
  const candidate = parseContract(text, 'project');
  const change = {
    fromVersion: '2026.11.1',
    toVersion: candidate.version,
    hash: candidate.hash,
    changeRequestId: 'cr-1',
    requestedBy: 'admin',
    approvedBy: 'admin2',
    digest: 'b'.repeat(64),
    contract: text,
  };
  const signature = signContractChange([contractKey.signing], {
    changeRequestId: change.changeRequestId,
    fromVersion: change.fromVersion,
    fromHash: 'sha256:' + 'c'.repeat(64),
    toVersion: change.toVersion,
    toHash: change.hash,
    requestedBy: change.requestedBy,
    approvedBy: change.approvedBy,
    digest: change.digest,
    approvedAt: TIME,
  });
  return envelope(TOPICS.contractChanged, 'cc-1', { id: 'admin2', kind: 'human', roles: ['admin'], authMethod: 'bearer-token' }, {
    ...change,
    signature,
  } as never);
}

/**
 * For every checked topic: its genuine event, as its publisher makes it, and a forgery under the same (derived,
 * computable) id: the genuine event with something that matters changed, its seal or signature kept.
 */
type Case<T extends Topic> = { genuine: () => TopicMap[T]; forge: (e: TopicMap[T]) => TopicMap[T] };
const CASES: { [T in Topic]?: Case<T> } = {
  [TOPICS.policyDecided]: { genuine: () => reviewLaneDecision('a-1'), forge: (e) => ({ ...e, data: { ...e.data, lane: 'autonomous' } }) },
  [TOPICS.autonomyChanged]: {
    genuine: () => {
      const e = envelope(TOPICS.autonomyChanged, 'au-1', policyEngine, {
        flag: 'countersign.kill.ticket.tag',
        actionType: 'ticket.tag',
        control: 'kill-switch',
        value: 'off',
        change: 'lowered',
        reason: 'incident',
      });
      return { ...e, data: { ...e.data, seal: sealEvent(testPolicyEngineKey.signing, e, 'decision') } };
    },
    forge: (e) => ({ ...e, data: { ...e.data, value: 'on', change: 'raised' } }),
  },
  [TOPICS.trustHealthChanged]: {
    genuine: () => sealedByReviewQueue(envelope(TOPICS.trustHealthChanged, 'th-1', reviewQueue, trustHealthData('unhealthy'))),
    forge: (e) => ({ ...e, data: { ...e.data, health: 'healthy' } }),
  },
  [TOPICS.degradationModeChanged]: {
    genuine: () =>
      sealedByReviewQueue(
        envelope(TOPICS.degradationModeChanged, 'dm-1', reviewQueue, {
          mode: 'halted',
          previous: 'normal',
          computed: 'halted',
          inputs: { pending: 12_000 },
          reason: 'the backlog is past its limit',
          computedSince: TIME,
        }),
      ),
    forge: (e) => ({ ...e, data: { ...e.data, mode: 'normal' } }),
  },
  [TOPICS.degradationOverrideSet]: {
    genuine: () =>
      sealedByReviewQueue(
        envelope(TOPICS.degradationOverrideSet, 'do-1', reviewQueue, {
          override: { mode: 'halted', reason: 'incident drill', by: 'sam', expiresAt: '2026-12-03T09:00:00.000Z' },
          reason: 'incident drill',
        }),
      ),
    forge: (e) => ({ ...e, data: { ...e.data, override: { ...e.data.override!, mode: 'normal', confirmedBy: 'lena' } } }),
  },
  [TOPICS.approvalRecorded]: {
    genuine: () =>
      sealedByReviewQueue(
        envelope(TOPICS.approvalRecorded, 'ar-1', alice, { reason: 'checked', digest: DIGEST, shownDigest: DIGEST, approvers: ['alice'], quorum: 2 }),
      ),
    forge: (e) => ({ ...e, actor: { ...e.actor, id: 'mallory' }, data: { ...e.data, approvers: ['mallory'] } }),
  },
  [TOPICS.secondReviewRecorded]: {
    genuine: () =>
      sealedByReviewQueue(
        envelope(
          TOPICS.secondReviewRecorded,
          'sr-1',
          { id: 'carol', kind: 'human' },
          {
            verdict: 'rejected',
            firstDecision: 'approved',
            reason: 'already refunded',
            digest: DIGEST,
            slaClass: 'normal',
          },
        ),
      ),
    forge: (e) => ({ ...e, data: { ...e.data, verdict: 'approved' } }),
  },
  [TOPICS.reviewDecided]: {
    genuine: () =>
      envelope(TOPICS.reviewDecided, 'rd-1', alice, {
        decision: 'rejected',
        reviewers: [alice],
        reason: 'not our error',
        digest: DIGEST,
        signature: token('rejected'),
      }),
    forge: (e) => ({ ...e, data: { ...e.data, decision: 'approved' } }),
  },
  [TOPICS.proposalRevised]: {
    genuine: revision,
    forge: (e) => ({ ...e, data: { ...e.data, proposal: { ...e.data.proposal, parameters: { ...e.data.proposal.parameters, amount: 9999 } } } }),
  },
  [TOPICS.outcomeCheckAnswered]: {
    genuine: () =>
      envelope(TOPICS.outcomeCheckAnswered, 'oa-1', alice, {
        happened: false,
        reviewers: [alice],
        reason: 'not in the ledger',
        digest: DIGEST,
        signature: token('not-happened'),
      }),
    forge: (e) => ({ ...e, data: { ...e.data, happened: true } }),
  },
  [TOPICS.contractChanged]: {
    genuine: contractChange,
    forge: (e) => ({ ...e, data: { ...e.data, contract: e.data.contract.replace(/lane: autonomous/, 'lane: review') } }),
  },
  [TOPICS.actionExecuted]: {
    genuine: () =>
      sealTestOutcome(envelope(TOPICS.actionExecuted, 'ex-1', executor, { connector: 'webhook', digest: DIGEST, authorisedBy: 'approval', attempt: 1 })),
    forge: (e) => ({ ...e, data: { ...e.data, digest: 'd'.repeat(64) } }),
  },
  [TOPICS.actionFailed]: {
    genuine: () =>
      sealTestOutcome(
        envelope(TOPICS.actionFailed, 'fa-1', executor, { outcome: 'outcome_unknown', connector: 'webhook', digest: DIGEST, error: 'timed out' }),
      ),
    forge: (e) => ({ ...e, data: { ...e.data, outcome: 'failed', error: 'the target refused it' } }),
  },
  [TOPICS.actionRefused]: {
    genuine: () =>
      sealTestOutcome(
        envelope(TOPICS.actionRefused, 'rf-1', executor, { code: 'invalid-approval', reason: 'forged approval', suspicious: true, final: false }),
      ),
    forge: (e) => ({ ...e, data: { ...e.data, final: true } }),
  },
  [TOPICS.actionHeld]: {
    genuine: () =>
      sealTestOutcome(envelope(TOPICS.actionHeld, 'ho-1', executor, { code: 'trust-stack-unhealthy', reason: 'a certificate expires in an hour' })),
    forge: (e) => ({ ...e, data: { ...e.data, reason: 'nothing is wrong' } }),
  },
  [TOPICS.outcomeCheckRequested]: {
    genuine: () =>
      sealTestOutcome(
        envelope(TOPICS.outcomeCheckRequested, 'oc-1', executor, {
          connector: 'webhook',
          digest: DIGEST,
          idempotencyKey: 'a-1',
          proposal: refundProposal(),
          proposerPrincipal: 'support-copilot',
          contractVersion: '2026.12.7',
          authorisedBy: 'approval',
          since: TIME,
          reason: 'the target did not answer',
        }),
      ),
    forge: (e) => ({ ...e, data: { ...e.data, proposal: { ...e.data.proposal, parameters: { amount: 9999 } } } }),
  },
};

function consumer(keys: SealKeys = KEYS, metrics?: Metrics) {
  const appended: AuditEntry[] = [];
  const c = new AuditConsumer(
    { append: async (e: AuditEntry) => void appended.push(e), pseudonymKey: async () => PSEUDONYM_KEY } as unknown as AuditChainService,
    keys,
    metrics,
  );
  const handle = (e: Envelope) => (c['handlers']()[e.type as Topic] as (e: Envelope) => Promise<void>)(e);
  return { appended, handle };
}

describe('the audit writer and the sealed or signed topics', () => {
  it('counts what it records apart, by its topic, for the alert CountersignForgedEvents', async () => {
    const metrics = new Metrics('audit-writer');
    const { handle } = consumer(KEYS, metrics);
    const genuine = CASES[TOPICS.actionExecuted]!.genuine();
    await handle({ ...genuine, data: { ...genuine.data, seal: undefined } } as Envelope);
    await handle(CASES[TOPICS.policyDecided]!.forge(CASES[TOPICS.policyDecided]!.genuine()) as Envelope);
    await handle(genuine as Envelope);
    const counted = parsePrometheusText(await metrics.render()).filter((x) => x.name === 'countersign_audit_unverified_events_total');
    expect(counted.map((x) => [x.labels.topic, x.value]).sort()).toEqual([
      [TOPICS.actionExecuted, 1],
      [TOPICS.policyDecided, 1],
    ]);
  });

  // Every checked topic has a case (the last test checks that every signed topic is checked).
  it('has a case for every checked topic', () => expect(Object.keys(CASES).sort()).toEqual(Object.keys(SIGNED_TOPIC_CHECKS).sort()));

  it.each(Object.keys(CASES))(
    "%s: a forgery sent first under the genuine event's id is recorded apart, and the genuine event under its own id",
    async (topic) => {
      const { genuine, forge } = CASES[topic as Topic] as unknown as { genuine: () => Envelope; forge: (e: Envelope) => Envelope };
      const real = genuine();
      const forged = forge(real);
      const unsigned = { ...real, data: { ...(real.data as object), seal: undefined, signature: undefined } } as Envelope;
      const { appended, handle } = consumer();
      await handle(forged);
      await handle(unsigned);
      await handle(real);
      expect(appended.map((e) => e.eventType)).toEqual([`unverified.${topic}`, `unverified.${topic}`, topic]);
      expect(appended[0].eventId).toMatch(new RegExp(`^${real.id}~unverified~[0-9a-f]{16}$`));
      expect(appended[1].eventId).toMatch(new RegExp(`^${real.id}~unverified~[0-9a-f]{16}$`));
      expect(appended[0].eventId).not.toBe(appended[1].eventId);
      expect(appended[0].unverified).toEqual(expect.any(String));
      expect(appended[2].eventId).toBe(real.id);
      expect(appended[2].unverified).toBeUndefined();
    },
  );

  it('records a contract change apart when it holds no contract-change keys, and when a check cannot finish', async () => {
    const without = consumer({ ...KEYS, contractChanges: undefined });
    await without.handle(contractChange());
    expect(without.appended[0]).toMatchObject({
      eventType: `unverified.${TOPICS.contractChanged}`,
      unverified: expect.stringContaining('CONTRACT_VERIFY_KEYS_FILE'),
    });

    const broken = consumer({
      ...KEYS,
      contractChanges: {
        keys: () => {
          throw new Error('the keys file cannot be read');
        },
      },
    });
    await broken.handle(contractChange());
    expect(broken.appended[0]).toMatchObject({ eventType: `unverified.${TOPICS.contractChanged}`, unverified: expect.stringContaining('cannot be read') });
  });

  it('checks every topic whose events carry a seal or a signature, or says why not', () => {
    const fieldsOf = (schema: unknown): string[] => {
      const shape = (schema as { shape: Record<string, { shape?: Record<string, unknown> }> }).shape;
      return [...Object.keys(shape), ...Object.keys(shape.data?.shape ?? {})];
    };
    const signed = Object.entries(TOPIC_SCHEMAS)
      .filter(([, schema]) => fieldsOf(schema).some((f) => f === 'seal' || f === 'signature'))
      .map(([topic]) => topic)
      .sort();
    // The introspection itself works: it finds the decisions' seal and the agents' signature.
    expect(signed).toEqual(expect.arrayContaining([TOPICS.policyDecided, TOPICS.proposalSubmitted]));
    expect([...Object.keys(SIGNED_TOPIC_CHECKS), ...Object.keys(UNCHECKED_SIGNED_TOPICS)].sort()).toEqual(signed);
  });

  it('records apart a dead letter that names a person, or another author than its consumer group (red team, 2026-12-07)', async () => {
    const { appended, handle } = consumer();
    const topic = `${TOPICS.reviewDecided}.dlq`;
    const letter = (actor: Envelope['actor'], source: string, id: string): Envelope =>
      ({
        id,
        type: topic,
        version: 1,
        source,
        time: TIME,
        subject: 'a-1',
        correlationId: 'c-1',
        causationId: null,
        actor,
        data: {
          topic: TOPICS.reviewDecided,
          partition: 0,
          offset: 7,
          consumerGroup: 'executor.execute',
          reason: 'unreadable',
          rawPreview: '{}',
          rawBytes: 2,
          key: 'a-1',
        },
      }) as unknown as Envelope;
    const group: Envelope['actor'] = { id: 'executor.execute', kind: 'service' };
    await handle(letter(alice, 'executor.execute', 'dl-1'));
    await handle(letter({ id: 'review-queue', kind: 'service' }, 'review-queue', 'dl-2'));
    await handle(letter(group, 'executor.execute', 'dl-3'));
    expect(appended.map((e) => [e.eventType, e.actor.id])).toEqual([
      [`unverified.${topic}`, 'alice'],
      [`unverified.${topic}`, 'review-queue'],
      [topic, 'executor.execute'],
    ]);
    expect(appended[0].unverified).toBe('a dead letter is written by the consumer that could not handle an event, a service; this one names alice (human)');
    expect(appended[1].unverified).toBe(
      'a dead letter names the consumer group that wrote it as its actor and source; this one names executor.execute, written as review-queue from review-queue',
    );
    expect(appended[2].unverified).toBeUndefined();
  });
});
