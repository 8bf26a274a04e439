import { z } from 'zod';
import { derivedEventId, envelopeSchema, Envelope } from './envelope';
import {
  ActionExecutedV1,
  ActionFailedV1,
  ActionProposedV1,
  ActionRefusedV1,
  DeadLetteredV1,
  PolicyDecidedV1,
  ProposalSubmittedV1,
  SubmissionSignatureSchema,
  RequestRejectedV1,
  ReviewDecidedV1,
  TreeHeadPublishedV1,
  AuditLogRecoveredV1,
  AuditLogStoppedV1,
  AuditLogResumedV1,
  ContractChangedV1,
  ChangeRequestedV1,
  ChangeDecidedV1,
  SampleAssessedV1,
  ReviewDataRevealedV1,
  FlagSourceHealthChangedV1,
  PrincipalsChangedV1,
  OutcomeCheckRequestedV1,
  OutcomeCheckAnsweredV1,
  DegradationModeChangedV1,
  DegradationOverrideSetV1,
  AutonomyChangedV1,
  AutonomyDriftDetectedV1,
  CanaryMissedV1,
  ProposalRevisedV1,
  ApprovalRecordedV1,
  SecondReviewRecordedV1,
  TrustHealthChangedV1,
  ActionHeldV1,
  ClaimBrokenV1,
} from './events';

/**
 * The one topic registry. Names follow `<context>.<entity>.<event-past-tense>.v<major>`;
 * a breaking change is a new `v2` topic. Never write a topic name as a string literal elsewhere.
 */
export const TOPICS = {
  proposalSubmitted: 'agent.proposal.submitted.v1',
  actionProposed: 'orchestrator.action.proposed.v1',
  policyDecided: 'policy.decision.made.v1',
  reviewDecided: 'review.decision.made.v1',
  actionExecuted: 'execution.action.executed.v1',
  actionFailed: 'execution.action.failed.v1',
  actionRefused: 'execution.action.refused.v1',
  requestRejected: 'security.request.rejected.v1',
  treeHeadPublished: 'audit.tree-head.published.v1',
  logRecovered: 'audit.log.recovered.v1',
  logStopped: 'audit.log.stopped.v1',
  logResumed: 'audit.log.resumed.v1',
  contractChanged: 'policy.contract.changed.v1',
  changeRequested: 'policy.change.requested.v1',
  changeDecided: 'policy.change.decided.v1',
  sampleAssessed: 'review.sample.assessed.v1',
  reviewDataRevealed: 'review.data.revealed.v1',
  flagSourceHealthChanged: 'control.flag-source.health-changed.v1',
  principalsChanged: 'security.principals.changed.v1',
  outcomeCheckRequested: 'execution.outcome.check-requested.v1',
  outcomeCheckAnswered: 'review.outcome.check-answered.v1',
  degradationModeChanged: 'control.degradation.mode-changed.v1',
  degradationOverrideSet: 'control.degradation.override-set.v1',
  autonomyChanged: 'control.autonomy.changed.v1',
  autonomyDriftDetected: 'control.autonomy.drift-detected.v1',
  canaryMissed: 'review.canary.missed.v1',
  proposalRevised: 'review.proposal.revised.v1',
  approvalRecorded: 'review.approval.recorded.v1',
  secondReviewRecorded: 'review.second-review.recorded.v1',
  trustHealthChanged: 'control.trust.health-changed.v1',
  actionHeld: 'execution.action.held.v1',
  claimBroken: 'review.claim.broken.v1',
} as const;

/** A topic name from the registry. */
export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

/**
 * The schema version of a topic's events: its major version, from the name (`….v2` → 2; a dead-letter
 * topic has its topic's). A breaking change is a new topic, so name and version never disagree.
 */
export function versionOf(topic: string): number {
  const m = /\.v(\d+)(?:\.dlq)?$/.exec(topic);
  if (!m) throw new Error(`${topic} is not a registry topic name (<context>.<entity>.<event>.v<major>)`);
  return Number(m[1]);
}

const def = <TT extends Topic, T extends z.ZodTypeAny>(topic: TT, data: T) => envelopeSchema(topic, versionOf(topic), data);

/** One schema per topic, for the envelope and its data. */
export const TOPIC_SCHEMAS = {
  // Signed by its producer (an agent): optional in the schema so old events parse; the orchestrator refuses unsigned ones.
  [TOPICS.proposalSubmitted]: def(TOPICS.proposalSubmitted, ProposalSubmittedV1).extend({ signature: SubmissionSignatureSchema.optional() }),
  [TOPICS.actionProposed]: def(TOPICS.actionProposed, ActionProposedV1),
  [TOPICS.policyDecided]: def(TOPICS.policyDecided, PolicyDecidedV1),
  [TOPICS.reviewDecided]: def(TOPICS.reviewDecided, ReviewDecidedV1),
  [TOPICS.actionExecuted]: def(TOPICS.actionExecuted, ActionExecutedV1),
  [TOPICS.actionFailed]: def(TOPICS.actionFailed, ActionFailedV1),
  [TOPICS.actionRefused]: def(TOPICS.actionRefused, ActionRefusedV1),
  [TOPICS.requestRejected]: def(TOPICS.requestRejected, RequestRejectedV1),
  [TOPICS.treeHeadPublished]: def(TOPICS.treeHeadPublished, TreeHeadPublishedV1),
  [TOPICS.logRecovered]: def(TOPICS.logRecovered, AuditLogRecoveredV1),
  [TOPICS.logStopped]: def(TOPICS.logStopped, AuditLogStoppedV1),
  [TOPICS.logResumed]: def(TOPICS.logResumed, AuditLogResumedV1),
  [TOPICS.contractChanged]: def(TOPICS.contractChanged, ContractChangedV1),
  [TOPICS.changeRequested]: def(TOPICS.changeRequested, ChangeRequestedV1),
  [TOPICS.changeDecided]: def(TOPICS.changeDecided, ChangeDecidedV1),
  [TOPICS.sampleAssessed]: def(TOPICS.sampleAssessed, SampleAssessedV1),
  [TOPICS.reviewDataRevealed]: def(TOPICS.reviewDataRevealed, ReviewDataRevealedV1),
  [TOPICS.flagSourceHealthChanged]: def(TOPICS.flagSourceHealthChanged, FlagSourceHealthChangedV1),
  [TOPICS.principalsChanged]: def(TOPICS.principalsChanged, PrincipalsChangedV1),
  [TOPICS.outcomeCheckRequested]: def(TOPICS.outcomeCheckRequested, OutcomeCheckRequestedV1),
  [TOPICS.outcomeCheckAnswered]: def(TOPICS.outcomeCheckAnswered, OutcomeCheckAnsweredV1),
  [TOPICS.degradationModeChanged]: def(TOPICS.degradationModeChanged, DegradationModeChangedV1),
  [TOPICS.degradationOverrideSet]: def(TOPICS.degradationOverrideSet, DegradationOverrideSetV1),
  [TOPICS.autonomyChanged]: def(TOPICS.autonomyChanged, AutonomyChangedV1),
  [TOPICS.autonomyDriftDetected]: def(TOPICS.autonomyDriftDetected, AutonomyDriftDetectedV1),
  [TOPICS.canaryMissed]: def(TOPICS.canaryMissed, CanaryMissedV1),
  [TOPICS.proposalRevised]: def(TOPICS.proposalRevised, ProposalRevisedV1),
  [TOPICS.approvalRecorded]: def(TOPICS.approvalRecorded, ApprovalRecordedV1),
  [TOPICS.secondReviewRecorded]: def(TOPICS.secondReviewRecorded, SecondReviewRecordedV1),
  [TOPICS.trustHealthChanged]: def(TOPICS.trustHealthChanged, TrustHealthChangedV1),
  [TOPICS.actionHeld]: def(TOPICS.actionHeld, ActionHeldV1),
  [TOPICS.claimBroken]: def(TOPICS.claimBroken, ClaimBrokenV1),
} satisfies Record<Topic, z.ZodTypeAny>;

/**
 * Topics whose state is their latest event per key (control state every instance replays at start): Kafka keeps
 * them compacted (`cleanup.policy=compact`), so a replay reads the latest value per key, not all of history.
 * Their dead-letter topics are not compacted (every dead letter is kept for the audit).
 */
export const COMPACTED_TOPICS: ReadonlySet<Topic> = new Set<Topic>([
  TOPICS.degradationModeChanged,
  TOPICS.degradationOverrideSet,
  TOPICS.autonomyChanged,
  TOPICS.trustHealthChanged,
]);

/**
 * What the audit writer records in its own log about the log itself: a recovery at start, a clean stop, the start after
 * one (docs/adr/0005, addendum of 2026-12-04). The writer appends them to its log and never publishes them: no service
 * reads them from Kafka, and the audit writer does not record a copy found there (only it writes them, and not there).
 */
export const AUDIT_LOG_OWN_TOPICS: ReadonlySet<Topic> = new Set<Topic>([TOPICS.logRecovered, TOPICS.logStopped, TOPICS.logResumed]);

/**
 * What the executor says happened to an action (docs/adr/0042): each event is sealed with the executor's outcome key,
 * and its readers (the orchestrator's timeline, the review queue, the audit writer) take only a sealed one for what
 * happened.
 */
export const EXECUTOR_OUTCOME_TOPICS = [
  TOPICS.actionExecuted,
  TOPICS.actionFailed,
  TOPICS.actionRefused,
  TOPICS.actionHeld,
  TOPICS.outcomeCheckRequested,
] as const satisfies readonly Topic[];

/** One of the executor's sealed outcome topics. */
export type ExecutorOutcomeTopic = (typeof EXECUTOR_OUTCOME_TOPICS)[number];

/**
 * Topics whose whole history every instance replays at start and that nothing may forget: Kafka keeps them for ever
 * (`retention.ms=-1`, `retention.bytes=-1`), not for the broker's default window. The approved contract changes are
 * applied one on top of the other from the contract file; with the broker's 24 h, a service restarted a day after a
 * change ran the file's version again, and the record of which requests were applied was gone (red-team pass 5).
 */
export const RETAINED_TOPICS: ReadonlySet<Topic> = new Set<Topic>([TOPICS.contractChanged]);

/** The type of the dead-letter topic of `T`. */
export type DlqTopic<T extends Topic = Topic> = `${T}.dlq`;

/** The dead-letter topic of a topic. */
export const dlqTopic = <T extends Topic>(topic: T): DlqTopic<T> => `${topic}.dlq` as DlqTopic<T>;

/** Envelope schema for every dead-letter topic (the `type` names the dlq topic). */
export const deadLetterSchema = (topic: Topic) => envelopeSchema(dlqTopic(topic), versionOf(topic), DeadLetteredV1);

/** Topic → envelope type, to type the bus (`publish<T extends keyof TopicMap>`). */
export type TopicMap = { [T in Topic]: z.infer<(typeof TOPIC_SCHEMAS)[T]> } & {
  [T in Topic as DlqTopic<T>]: Envelope<DlqTopic<T>, z.infer<typeof DeadLetteredV1>>;
};

/** Any topic the bus carries, including dead-letter topics. */
export type AnyTopic = keyof TopicMap;

/** Every registry topic and its dead-letter topic, e.g. for the audit writer and topic creation. */
export const ALL_TOPICS: AnyTopic[] = (Object.values(TOPICS) as Topic[]).flatMap((t) => [t, dlqTopic(t)]);

/** The schema for any topic, including dead-letter topics; undefined for an unknown topic. */
export function schemaFor(topic: string): z.ZodTypeAny | undefined {
  if (topic in TOPIC_SCHEMAS) return TOPIC_SCHEMAS[topic as Topic];
  if (topic.endsWith('.dlq')) {
    const base = topic.slice(0, -'.dlq'.length);
    if (base in TOPIC_SCHEMAS) return deadLetterSchema(base as Topic);
  }
  return undefined;
}

/** The data type carried on a topic. */
export type EventData<T extends AnyTopic> = TopicMap[T]['data'];

/**
 * The id of the action a reviewer's revision creates, derived from the revision event's id: the review queue names
 * it to the reviewer at once, and the orchestrator creates exactly that one however often the event is delivered.
 */
export const revisedActionId = (revisionEventId: string): string => derivedEventId(TOPICS.proposalRevised, revisionEventId, 'new-action');
