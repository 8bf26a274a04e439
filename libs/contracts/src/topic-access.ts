import { ALL_TOPICS, AnyTopic, dlqTopic, Topic, TOPICS } from './topics';

/** The parties that talk to Kafka, each with its own certificate (`CN=<party>`, principal `User:CN=<party>`). */
export const KAFKA_PARTIES = ['orchestrator', 'policy-engine', 'review-queue', 'executor', 'audit-writer', 'agent'] as const;
export type KafkaParty = (typeof KAFKA_PARTIES)[number];
export type KafkaService = Exclude<KafkaParty, 'agent'>;
export const KAFKA_SERVICES = KAFKA_PARTIES.filter((p): p is KafkaService => p !== 'agent');

/**
 * Who may write each topic: the one owner of each fact (docs/adr/0026). The Kafka ACLs are made from this table, so an
 * executor's certificate cannot publish a review decision and an agent's can only propose. Consumers check signatures
 * and actors as well; the ACL is the first wall, not the only one.
 */
export const TOPIC_WRITERS: { readonly [T in Topic]: readonly KafkaParty[] } = {
  [TOPICS.proposalSubmitted]: ['agent'],
  [TOPICS.actionProposed]: ['orchestrator'],
  [TOPICS.policyDecided]: ['policy-engine'],
  [TOPICS.reviewDecided]: ['review-queue'],
  [TOPICS.actionExecuted]: ['executor'],
  [TOPICS.actionFailed]: ['executor'],
  [TOPICS.actionRefused]: ['executor'],
  [TOPICS.actionHeld]: ['executor'],
  [TOPICS.outcomeCheckRequested]: ['executor'],
  // Every service refuses requests and reads flags: each reports its own.
  [TOPICS.requestRejected]: KAFKA_SERVICES,
  [TOPICS.flagSourceHealthChanged]: KAFKA_SERVICES,
  // Every service follows its own tokens file: each reports what it now lets in.
  [TOPICS.principalsChanged]: KAFKA_SERVICES,
  [TOPICS.treeHeadPublished]: ['audit-writer'],
  // Appended by the audit writer to its own log, never published (`AUDIT_LOG_OWN_TOPICS`): only it may write them.
  [TOPICS.logRecovered]: ['audit-writer'],
  [TOPICS.logStopped]: ['audit-writer'],
  [TOPICS.logResumed]: ['audit-writer'],
  [TOPICS.contractChanged]: ['policy-engine'],
  [TOPICS.changeRequested]: ['policy-engine'],
  [TOPICS.changeDecided]: ['policy-engine'],
  [TOPICS.autonomyChanged]: ['policy-engine'],
  [TOPICS.autonomyDriftDetected]: ['policy-engine'],
  [TOPICS.sampleAssessed]: ['review-queue'],
  [TOPICS.reviewDataRevealed]: ['review-queue'],
  [TOPICS.outcomeCheckAnswered]: ['review-queue'],
  [TOPICS.degradationModeChanged]: ['review-queue'],
  [TOPICS.degradationOverrideSet]: ['review-queue'],
  [TOPICS.canaryMissed]: ['review-queue'],
  [TOPICS.proposalRevised]: ['review-queue'],
  [TOPICS.approvalRecorded]: ['review-queue'],
  [TOPICS.secondReviewRecorded]: ['review-queue'],
  [TOPICS.trustHealthChanged]: ['review-queue'],
  [TOPICS.claimBroken]: ['review-queue'],
};

/**
 * Topics that parties outside Countersign write (agents' signed submissions): read strictly, a field their schema does not
 * know is refused with the rest (dead letter), not dropped. Countersign's own events are read tolerantly.
 */
export const EXTERNALLY_WRITTEN_TOPICS: ReadonlySet<Topic> = new Set(
  (Object.keys(TOPIC_WRITERS) as Topic[]).filter((t) => TOPIC_WRITERS[t].some((p) => !(KAFKA_SERVICES as readonly string[]).includes(p))),
);

/**
 * Who reads each topic: the services whose consumers subscribe to it (docs/adr/0026). The Kafka ACLs give READ from
 * this table, so a certificate can consume only what its service acts on: the executor cannot read proposals, sampled
 * reviews or revealed data. `test/architecture/topic-readers.spec.ts` runs the five services and checks every
 * subscription against it, both ways (nothing missing, nothing unused). The audit writer reads every topic but the tree
 * heads it publishes itself (they certify the log and are kept beside it) and what it records about its own log
 * (`AUDIT_LOG_OWN_TOPICS`, never published); it alone reads the dead-letter topics
 * (`DEAD_LETTER_READERS`). A topic nobody else acts on is read by the audit writer alone.
 */
export const TOPIC_READERS: { readonly [T in Topic]: readonly KafkaService[] } = {
  // Agents that produce straight to Kafka: their signed submissions enter the flow at the orchestrator.
  [TOPICS.proposalSubmitted]: ['orchestrator', 'audit-writer'],
  // The orchestrator's action timeline (`GET /v1/actions/{id}`) follows every step of an action's story.
  [TOPICS.actionProposed]: ['policy-engine', 'orchestrator', 'audit-writer'],
  // Executed (autonomous), queued (review, audit samples), counted (the governance page's automation ratio).
  [TOPICS.policyDecided]: ['executor', 'review-queue', 'orchestrator', 'audit-writer'],
  [TOPICS.reviewDecided]: ['executor', 'orchestrator', 'audit-writer'],
  [TOPICS.actionExecuted]: ['orchestrator', 'audit-writer'],
  [TOPICS.actionFailed]: ['orchestrator', 'audit-writer'],
  [TOPICS.actionRefused]: ['orchestrator', 'audit-writer'],
  [TOPICS.actionHeld]: ['orchestrator', 'audit-writer'],
  // A lead's override of a reviewer's claim: on the record only.
  [TOPICS.claimBroken]: ['audit-writer'],
  // "Did this happen?": a review item of kind outcome-check; the answer goes back to the executor's reconciler. The
  // timeline says a person is checking.
  [TOPICS.outcomeCheckRequested]: ['review-queue', 'orchestrator', 'audit-writer'],
  [TOPICS.requestRejected]: ['audit-writer'],
  [TOPICS.principalsChanged]: ['audit-writer'],
  // The orchestrator tells an agent why its action waits while a flag source cannot be read.
  [TOPICS.flagSourceHealthChanged]: ['orchestrator', 'audit-writer'],
  // Published by the audit writer itself and kept beside the log: read by auditors through its API, not from Kafka.
  [TOPICS.treeHeadPublished]: [],
  // What the audit writer records about its own log, in the log: never on Kafka, so nobody reads them there (a copy
  // there is a forgery, and the audit writer does not record it).
  [TOPICS.logRecovered]: [],
  [TOPICS.logStopped]: [],
  [TOPICS.logResumed]: [],
  // Approved contract changes, replayed at every start by each instance that works with the contract (rules, parameter
  // schemas, SLA classes, degradation thresholds, decision-quality sampling).
  [TOPICS.contractChanged]: ['policy-engine', 'orchestrator', 'review-queue', 'executor', 'audit-writer'],
  [TOPICS.changeRequested]: ['audit-writer'],
  [TOPICS.changeDecided]: ['audit-writer'],
  // Control topics, replayed at every start by each instance that applies them. Kill switches and autonomy levels (the
  // review queue counts each change as an operator override):
  [TOPICS.autonomyChanged]: ['policy-engine', 'executor', 'review-queue', 'audit-writer'],
  [TOPICS.autonomyDriftDetected]: ['audit-writer'],
  [TOPICS.sampleAssessed]: ['audit-writer'],
  [TOPICS.reviewDataRevealed]: ['audit-writer'],
  [TOPICS.outcomeCheckAnswered]: ['executor', 'audit-writer'],
  // The degradation mode (applied by the policy engine and the executor; the review queue's controller continues from it):
  [TOPICS.degradationModeChanged]: ['policy-engine', 'executor', 'review-queue', 'audit-writer'],
  [TOPICS.degradationOverrideSet]: ['review-queue', 'audit-writer'],
  [TOPICS.canaryMissed]: ['audit-writer'],
  // A revision closes its action (executor, timeline) and becomes a new one (orchestrator).
  [TOPICS.proposalRevised]: ['executor', 'orchestrator', 'audit-writer'],
  // A partial approval is only kept on the record: nothing acts on it.
  [TOPICS.approvalRecorded]: ['audit-writer'],
  // A blind second verdict is only kept on the record: nothing acts on it.
  [TOPICS.secondReviewRecorded]: ['audit-writer'],
  // The trust verdict (applied by the policy engine and the executor; the review queue's trust monitor continues from it):
  [TOPICS.trustHealthChanged]: ['policy-engine', 'executor', 'review-queue', 'audit-writer'],
};

/** Who reads the dead-letter topics (every one of them): the audit writer, which keeps each dead letter in the log. */
export const DEAD_LETTER_READERS: readonly KafkaService[] = ['audit-writer'];

/** What one party may do on Kafka: the topics it writes and reads, and whether it joins consumer groups. */
export interface KafkaRights {
  write: AnyTopic[];
  read: AnyTopic[];
  /**
   * Topics it may describe (metadata, partition ends) without reading them: a service checks at boot that every
   * registry topic exists (the bus lists the topics, and would try to create the ones it cannot see).
   */
  describe: AnyTopic[];
  groups: boolean;
}

/**
 * The rights of one party, from the two tables. A service writes the topics it owns and any dead-letter topic (a
 * consumer dead-letters what it cannot handle, whatever the topic); reads the topics `TOPIC_READERS` names it for, and
 * the dead-letter topics if `DEAD_LETTER_READERS` does; describes every topic (existence and ends only: no record); and
 * joins consumer groups (its own: `kafkaAcls` gives the prefix `<party>.`) when it reads anything. An agent writes
 * proposals, reads and describes nothing, and joins no group.
 */
export function kafkaRights(party: KafkaParty): KafkaRights {
  const topics = Object.values(TOPICS) as Topic[];
  const owns = topics.filter((t) => TOPIC_WRITERS[t].includes(party));
  if (party === 'agent') return { write: owns, read: [], describe: [], groups: false };
  const read: AnyTopic[] = [...topics.filter((t) => TOPIC_READERS[t].includes(party)), ...(DEAD_LETTER_READERS.includes(party) ? topics.map(dlqTopic) : [])];
  return { write: [...owns, ...topics.map(dlqTopic)], read, describe: ALL_TOPICS, groups: read.length > 0 };
}
