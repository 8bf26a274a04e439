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
  [TOPICS.treeHeadPublished]: ['audit-writer'],
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
  [TOPICS.trustHealthChanged]: ['review-queue'],
};

/** What one party may do on Kafka: the topics it writes and reads, and whether it joins consumer groups. */
export interface KafkaRights {
  write: AnyTopic[];
  read: AnyTopic[];
  groups: boolean;
}

/**
 * The rights of one party. A service writes the topics it owns and any dead-letter topic (a consumer dead-letters
 * what it cannot handle, whatever the topic), and reads every topic (the services replay control topics and follow
 * the story of an action; narrowing reads per service is the next step). An agent writes proposals, reads nothing
 * and joins no group.
 */
export function kafkaRights(party: KafkaParty): KafkaRights {
  const topics = Object.values(TOPICS) as Topic[];
  const owns = topics.filter((t) => TOPIC_WRITERS[t].includes(party));
  if (party === 'agent') return { write: owns, read: [], groups: false };
  return { write: [...owns, ...topics.map(dlqTopic)], read: ALL_TOPICS, groups: true };
}
