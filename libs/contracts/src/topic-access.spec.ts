import { ALL_TOPICS, AUDIT_LOG_OWN_TOPICS, dlqTopic, Topic, TOPICS } from './topics';
import { DEAD_LETTER_READERS, KAFKA_PARTIES, KAFKA_SERVICES, kafkaRights, TOPIC_READERS, TOPIC_WRITERS } from './topic-access';

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
    expect(kafkaRights('agent')).toEqual({ write: [TOPICS.proposalSubmitted], read: [], describe: [], groups: false });
    const executor = kafkaRights('executor');
    expect(executor.write).toContain(TOPICS.actionExecuted);
    expect(executor.write).toContain(dlqTopic(TOPICS.reviewDecided));
    expect(executor.write).not.toContain(TOPICS.reviewDecided);
    expect(executor.write).not.toContain(TOPICS.proposalSubmitted);
    expect(executor.groups).toBe(true);
  });
});

describe('the topic table (who may read what)', () => {
  it('names only services as readers (never an agent), each at most once', () => {
    for (const topic of Object.values(TOPICS) as Topic[]) {
      for (const r of TOPIC_READERS[topic]) expect(KAFKA_SERVICES).toContain(r);
      expect(new Set(TOPIC_READERS[topic]).size).toBe(TOPIC_READERS[topic].length);
    }
  });

  it('gives each service READ on exactly the topics the table names it for, and dead letters only to their readers', () => {
    for (const service of KAFKA_SERVICES) {
      const want = (Object.values(TOPICS) as Topic[]).filter((t) => TOPIC_READERS[t].includes(service));
      const dead = DEAD_LETTER_READERS.includes(service) ? (Object.values(TOPICS) as Topic[]).map(dlqTopic) : [];
      expect({ service, read: [...kafkaRights(service).read].sort() }).toEqual({ service, read: [...want, ...dead].sort() });
    }
  });

  it('keeps the executor off what it does not act on: proposals, sampled reviews, revealed data, dead letters', () => {
    const read = kafkaRights('executor').read;
    expect(read).toEqual(
      expect.arrayContaining([TOPICS.policyDecided, TOPICS.reviewDecided, TOPICS.proposalRevised, TOPICS.outcomeCheckAnswered, TOPICS.autonomyChanged]),
    );
    for (const t of [TOPICS.proposalSubmitted, TOPICS.actionProposed, TOPICS.sampleAssessed, TOPICS.reviewDataRevealed, TOPICS.changeRequested])
      expect(read).not.toContain(t);
    expect(read.filter((t) => t.endsWith('.dlq'))).toEqual([]);
    // It may see that every topic exists (the bus checks at boot), which lets no record through.
    expect(kafkaRights('executor').describe).toEqual(ALL_TOPICS);
  });

  it('lets the audit writer read every topic and every dead letter, but the tree heads it publishes and what it records about its own log', () => {
    const read = kafkaRights('audit-writer').read;
    const own = new Set<string>([TOPICS.treeHeadPublished, ...AUDIT_LOG_OWN_TOPICS]);
    expect([...read].sort()).toEqual(ALL_TOPICS.filter((t) => !own.has(t)).sort());
    expect(DEAD_LETTER_READERS).toEqual(['audit-writer']);
  });

  it("keeps the audit log's own topics to the audit writer: it alone may write them, and nobody reads them from Kafka", () => {
    expect([...AUDIT_LOG_OWN_TOPICS].sort()).toEqual([TOPICS.logRecovered, TOPICS.logResumed, TOPICS.logStopped].sort());
    for (const topic of AUDIT_LOG_OWN_TOPICS) {
      expect({ topic, writers: TOPIC_WRITERS[topic], readers: TOPIC_READERS[topic] }).toEqual({ topic, writers: ['audit-writer'], readers: [] });
      for (const party of KAFKA_PARTIES) expect({ party, reads: kafkaRights(party).read.includes(topic) }).toEqual({ party, reads: false });
    }
  });

  it('has every service read less than every topic', () => {
    for (const service of KAFKA_SERVICES) expect(kafkaRights(service).read.length).toBeLessThan(ALL_TOPICS.length);
  });
});
