import { Admin } from 'kafkajs';

/**
 * Creates topics and waits until every partition has a leader. Another instance may create the same
 * topics at the same moment: "already exists" is fine. kafkajs' own wait (`waitForLeaders`) retries only
 * LEADER_NOT_AVAILABLE, but a KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION until a new topic's
 * metadata has reached it, which made the first publish or subscribe fail now and then. `compacted`: the (wire)
 * names to create with `cleanup.policy=compact` (the registry's `COMPACTED_TOPICS`); `retained`: those kept for ever
 * (`RETAINED_TOPICS`).
 */
/** How long a compacted topic's segment stays open (the active one is never compacted). */
export const COMPACTED_SEGMENT_MS = 3_600_000;

/** What a broker answers about a topic it has not finished creating. */
const NOT_READY = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'NOT_LEADER_OR_FOLLOWER']);

export async function createTopics(
  admin: Admin,
  topics: string[],
  partitions: number,
  timeoutMs = 30_000,
  compacted: ReadonlySet<string> = new Set(),
  retained: ReadonlySet<string> = new Set(),
): Promise<void> {
  // A compacted topic keeps the latest event per key (control state replayed at start), not a time window; a retained
  // one keeps every event. Kafka compacts only closed segments, and a segment closes after 7 days by default: the trust
  // monitor's heartbeat (every 30 s) left up to 20,000 messages for each start to replay (a scale probe, 2026-12-06). A
  // compacted topic's segment closes after an hour, and is cleaned once a tenth of it is superseded.
  const configEntries = (topic: string) => [
    ...(compacted.has(topic)
      ? [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'segment.ms', value: String(COMPACTED_SEGMENT_MS) },
          { name: 'min.cleanable.dirty.ratio', value: '0.1' },
        ]
      : []),
    ...(retained.has(topic)
      ? [
          { name: 'retention.ms', value: '-1' },
          { name: 'retention.bytes', value: '-1' },
        ]
      : []),
  ];
  await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1, configEntries: configEntries(topic) })),
    waitForLeaders: false,
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let problem: string;
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics });
      const leaderless = meta.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0));
      if (!leaderless.length) {
        // The metadata names a leader before that broker acts as one: until it does, a produce answers
        // NOT_LEADER_FOR_PARTITION (seen on a loaded machine, past the producer's few retries). Listing the offsets asks
        // each partition's leader itself, so it succeeds only once every leader serves.
        for (const topic of topics) await admin.fetchTopicOffsets(topic);
        return;
      }
      problem = `no leader yet for ${leaderless.map((t) => t.name).join(', ')}`;
    } catch (e) {
      const type = (e as { type?: string }).type ?? (e as { cause?: { type?: string } }).cause?.type;
      if (!NOT_READY.has(type ?? '')) throw e;
      problem = `${type} for a new topic`;
    }
    if (Date.now() > deadline) throw new Error(`kafka topics not ready after ${timeoutMs} ms: ${problem}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
