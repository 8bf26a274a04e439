import { Admin } from 'kafkajs';

/**
 * Creates topics and waits until every partition has a leader. Another instance may create the same
 * topics at the same moment: "already exists" is fine. kafkajs' own wait (`waitForLeaders`) retries only
 * LEADER_NOT_AVAILABLE, but a KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION until a new topic's
 * metadata has reached it, which made the first publish or subscribe fail now and then.
 */
export async function createTopics(admin: Admin, topics: string[], partitions: number, timeoutMs = 30_000): Promise<void> {
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })), waitForLeaders: false });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let problem: string;
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics });
      const leaderless = meta.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0));
      if (!leaderless.length) return;
      problem = `no leader yet for ${leaderless.map((t) => t.name).join(', ')}`;
    } catch (e) {
      const type = (e as { type?: string }).type;
      if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw e;
      problem = `${type} for a new topic`;
    }
    if (Date.now() > deadline) throw new Error(`kafka topics not ready after ${timeoutMs} ms: ${problem}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
