import type { Admin } from 'kafkajs';
import type { TopicLag } from './bus-metrics';

/**
 * A consumer group's lag on each of `topics` (wire names), from two cheap admin requests per topic: the group's
 * committed offsets and the partitions' ends. A partition the group never committed counts from its first retained
 * message (the group reads from the beginning). `ns` is the wire prefix, dropped from the topics reported.
 */
export function createKafkaLagReader(admin: Admin, ns: string): (groupId: string, topics: readonly string[]) => Promise<TopicLag[]> {
  return (groupId, topics) => groupLag(admin, groupId, topics, ns);
}

async function groupLag(admin: Admin, groupId: string, topics: readonly string[], ns: string): Promise<TopicLag[]> {
  const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
  return Promise.all(
    topics.map(async (topic) => {
      const positions = new Map((committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      const ends = await admin.fetchTopicOffsets(topic);
      let lag = 0;
      for (const e of ends) {
        const at = positions.get(e.partition);
        const from = at === undefined || at < 0 ? Number(e.low) : at;
        lag += Math.max(0, Number(e.high) - from);
      }
      return { topic: topic.slice(ns.length), lag };
    }),
  );
}
