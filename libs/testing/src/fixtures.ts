import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey, sealEvent } from '@countersign/approval';
import type { EmitOptions, EventBus } from '@countersign/bus';
import { actionDigest, EventData, ExecutorOutcomeTopic, Proposal, TOPICS, TopicMap } from '@countersign/contracts';
import { ControlFactTopic, emitControlFact } from '@countersign/nest';
import { parseContract, RunningContract } from '@countersign/policy';

/**
 * The review queue's review-decision key in a test that publishes control facts by hand (trust health, the degradation
 * mode, overrides: docs/adr/0039): give the followers under test `testReviewQueueKey.verifyKey`, and publish with
 * `emitTestControlFact`. An unsealed fact is refused, as a forged one is.
 */
export const testReviewQueueKey = generateSigningKey('test-review-queue');

/**
 * The policy engine's decision key in a test that publishes decisions by hand (docs/adr/0040): give the executor or the
 * review queue under test `testPolicyEngineKey.verifyKey`, and publish with `emitTestDecision`.
 */
export const testPolicyEngineKey = generateSigningKey('test-policy-engine');

/** A policy decision as the policy engine seals it (with `testPolicyEngineKey`, or `key`). */
export const sealTestDecision = <E extends TopicMap[typeof TOPICS.policyDecided]>(e: E, key = testPolicyEngineKey.signing): E => ({
  ...e,
  data: { ...e.data, seal: sealEvent(key, e, 'decision') },
});

/** Publishes a policy decision sealed with `testPolicyEngineKey`, as the policy engine would. */
export const emitTestDecision = async (bus: EventBus, data: EventData<typeof TOPICS.policyDecided>, options: EmitOptions) => {
  const sealed = sealTestDecision(bus.envelope(TOPICS.policyDecided, data, options));
  await bus.publish(TOPICS.policyDecided, sealed);
  return sealed;
};

/**
 * The executor's outcome key in a test that publishes outcomes by hand (docs/adr/0042): give the orchestrator, the review
 * queue or the audit writer under test `testExecutorKey.verifyKey`, and seal with `sealTestOutcome`.
 */
export const testExecutorKey = generateSigningKey('test-executor');

/** An outcome (executed, failed, refused, held, an outcome check) as the executor seals it (with `testExecutorKey`, or `key`). */
export const sealTestOutcome = <E extends TopicMap[ExecutorOutcomeTopic]>(e: E, key = testExecutorKey.signing): E => ({
  ...e,
  data: { ...e.data, seal: sealEvent(key, e, 'outcome-signing') },
});

/** Publishes a control fact sealed with `testReviewQueueKey`, as the review queue would. */
export const emitTestControlFact = <T extends ControlFactTopic>(bus: EventBus, topic: T, data: EventData<T>, options: EmitOptions) =>
  emitControlFact(bus, testReviewQueueKey.signing, topic, data, options);

/** A refund proposal for tests that need one and do not care about its details (review lane in the contract). */
export const refundProposal = () => ({
  actionType: 'support.refund',
  target: 'order-1',
  parameters: { amount: 480 } as Record<string, unknown>,
  proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'p' },
  confidence: 0.9,
  tenant: 'acme',
  region: 'eu',
  context: {} as Record<string, unknown>,
});

/** A proposal of the support copilot's, confident, for acme in eu-west: the body the end-to-end specs send. */
export const copilotProposal = (actionType: string, target: string, parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  actionType,
  target,
  parameters,
  proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
  confidence: 0.97,
  tenant: 'acme',
  region: 'eu-west',
  context: {},
  ...extra,
});

type PolicyDecided = TopicMap[typeof TOPICS.policyDecided];

/** The project's operational contract, as the services load it by default. */
export const PROJECT_CONTRACT_PATH = join(__dirname, '../../../apps/policy-engine/contract/countersign.contract.yaml');

/** A running copy of the project's contract, for a service under test that checks against it (the executor). */
export const projectContract = () => RunningContract.fromFile(PROJECT_CONTRACT_PATH);

/**
 * The project's contract as `version`, with the small-refund rule's thresholds replaced (`{ review: 0 }`: every refund
 * goes to review; `{ review: 0, prohibited: 0 }`: every refund is prohibited): the contract an approved change would
 * run, for a test of what a change does to actions decided under the project's.
 */
export function changedProjectContract(version: string, smallRefundThresholds: string): RunningContract {
  const text = readFileSync(PROJECT_CONTRACT_PATH, 'utf8')
    .replace(/^version: .*$/m, `version: ${version}`)
    .replace(
      'reason: "small, policy-conform refund", thresholds: { review: 30 }',
      `reason: "small, policy-conform refund", thresholds: ${smallRefundThresholds}`,
    );
  if (!text.includes(`thresholds: ${smallRefundThresholds}`))
    throw new Error("the project contract's small-refund rule moved: changedProjectContract needs updating");
  return new RunningContract(parseContract(text, `${version}.yaml`));
}

/** A refund the project contract lets run autonomously (as `apps/embedded/examples/refund-small.json`). */
export const smallRefundProposal = (target = 'order-77'): Proposal => ({
  ...refundProposal(),
  target,
  parameters: { amount: 12.5, currency: 'EUR', reason: 'late delivery' },
  confidence: 0.95,
  region: 'eu-west',
});

/**
 * The data of an autonomous decision as the policy engine makes it, for a test of the executor: `proposal` (by default
 * a small refund) under the running project contract, with the digest the engine computes. The executor runs nothing
 * else (apps/executor/src/authorisation/autonomy-check.ts).
 */
export function autonomousDecisionData(proposal: Proposal = smallRefundProposal(), contract = projectContract()): PolicyDecided['data'] {
  const contractVersion = contract.current().version;
  return {
    lane: 'autonomous',
    reasons: ['within the autonomous limits'],
    rulesFired: [],
    contractVersion,
    contractHash: contract.current().hash,
    score: 0,
    digest: actionDigest(proposal, contractVersion),
    proposal,
    proposerPrincipal: 'support-copilot',
    sampledForAudit: false,
  };
}

/**
 * The policy decision that puts action `actionId` in review, as the policy engine publishes it, for tests of the review
 * queue: a refund (`refundProposal`) under contract `1`; `data` overrides any field (the review settings, above all).
 * Sealed with `testPolicyEngineKey` (docs/adr/0040).
 */
export const reviewLaneDecision = (actionId: string, data: Partial<PolicyDecided['data']> = {}): PolicyDecided =>
  sealTestDecision({
    id: `d-${actionId}`,
    type: TOPICS.policyDecided,
    version: 1,
    source: 'policy-engine',
    time: new Date().toISOString(),
    subject: actionId,
    correlationId: `c-${actionId}`,
    causationId: `p-${actionId}`,
    actor: { id: 'policy-engine', kind: 'service' },
    data: {
      lane: 'review',
      reasons: ['r'],
      rulesFired: [],
      contractVersion: '1',
      contractHash: 'h',
      score: 0,
      digest: 'a'.repeat(64),
      proposal: refundProposal(),
      proposerPrincipal: 'support-copilot',
      sampledForAudit: false,
      ...data,
    },
  });

/**
 * What the trust monitor publishes on `control.trust.health-changed.v1` (ADR 0019), for a test that runs the policy
 * engine or the executor without a monitor: `healthy` lets trust-sensitive work run; anything else holds it.
 */
export function trustHealthData(
  health: 'healthy' | 'degraded' | 'unhealthy',
  previous?: 'healthy' | 'degraded' | 'unhealthy',
): EventData<typeof TOPICS.trustHealthChanged> {
  return {
    health,
    ...(previous && { previous }),
    findings: [
      {
        kind: 'signing-key',
        owner: 'review-queue',
        purpose: 'approval-signing',
        source: 'test',
        keyId: 'k1',
        status: health === 'healthy' ? 'ok' : health === 'degraded' ? 'rotation-due' : 'expired',
        reason: `test: ${health}`,
      },
    ],
    reason: `test: ${health}`,
    checkMs: 1_000,
    // Fresh for hours: a test's verdict does not go stale (unknown) while a slow test runs.
    heartbeatMs: 3_600_000,
  };
}

/**
 * A trust verdict as the follower hands it to `TrustHealthState` (`apply`, or `applyUnsealedUnhealthy` for one without
 * the monitor's seal), for a test that sets the trust stack's health by hand.
 */
export const trustHealthVerdict = (health: 'healthy' | 'unhealthy', id: string, time: Date): TopicMap[typeof TOPICS.trustHealthChanged] => ({
  id,
  type: TOPICS.trustHealthChanged,
  version: 1,
  source: 'review-queue',
  time: time.toISOString(),
  subject: 'trust-health',
  correlationId: id,
  causationId: null,
  actor: { id: 'review-queue', kind: 'service' },
  data: trustHealthData(health),
});
