import { dlqTopic, Topic, TOPICS } from './topics';
import { KAFKA_PARTIES, kafkaRights, TOPIC_WRITERS } from './topic-access';

describe('the topic table (who may write what)', () => {
  it('names at least one writer for every registry topic, and only known parties', () => {
    for (const topic of Object.values(TOPICS) as Topic[]) {
      expect({ topic, writers: TOPIC_WRITERS[topic].length > 0 }).toEqual({ topic, writers: true });
      for (const w of TOPIC_WRITERS[topic]) expect(KAFKA_PARTIES).toContain(w);
    }
  });

  it('gives each decision one owner: review decisions, policy decisions, outcomes, control state', () => {
    expect(TOPIC_WRITERS[TOPICS.reviewDecided]).toEqual(['review-queue']);
    expect(TOPIC_WRITERS[TOPICS.policyDecided]).toEqual(['policy-engine']);
    expect(TOPIC_WRITERS[TOPICS.actionExecuted]).toEqual(['executor']);
    expect(TOPIC_WRITERS[TOPICS.autonomyChanged]).toEqual(['policy-engine']);
    expect(TOPIC_WRITERS[TOPICS.trustHealthChanged]).toEqual(['review-queue']);
    expect(TOPIC_WRITERS[TOPICS.proposalSubmitted]).toEqual(['agent']);
  });

  it('an agent writes proposals only, reads nothing and joins no group; a service writes its own topics and dead letters', () => {
    expect(kafkaRights('agent')).toEqual({ write: [TOPICS.proposalSubmitted], read: [], groups: false });
    const executor = kafkaRights('executor');
    expect(executor.write).toContain(TOPICS.actionExecuted);
    expect(executor.write).toContain(dlqTopic(TOPICS.reviewDecided));
    expect(executor.write).not.toContain(TOPICS.reviewDecided);
    expect(executor.write).not.toContain(TOPICS.proposalSubmitted);
    expect(executor.groups).toBe(true);
  });
});
