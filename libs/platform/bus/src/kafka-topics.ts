import { Admin, ConfigResourceTypes, ConfigSource } from 'kafkajs';

/** How long a compacted topic's segment stays open (the active one is never compacted). */
export const COMPACTED_SEGMENT_MS = 3_600_000;

/** What a broker answers about a topic it has not finished creating. */
const NOT_READY = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'NOT_LEADER_OR_FOLLOWER']);

/**
 * The settings a registry topic is made with, by its kind. A compacted topic keeps the latest event per key (control
 * state replayed at start), not a time window; a retained one keeps every event. Kafka compacts only closed segments,
 * and a segment closes after 7 days by default: the trust monitor's heartbeat (every 30 s) left up to 20,000 messages for
 * each start to replay (a scale probe, 2026-12-06). A compacted topic's segment closes after an hour, and is cleaned
 * once a tenth of it is superseded.
 */
export function topicSettings(topic: string, compacted: ReadonlySet<string>, retained: ReadonlySet<string>): Array<{ name: string; value: string }> {
  return [
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
}

/**
 * The settings without which a topic does not do its job: a compacted topic that deletes by age loses a control state
 * nobody changed since (a kill switch, the trust verdict), a retained one that deletes loses approved contract changes,
 * and a restart then runs the contract file again. The others (`segment.ms`, the dirty ratio) only tune.
 */
const ESSENTIAL = new Set(['cleanup.policy', 'retention.ms', 'retention.bytes']);

/** A topic found with settings other than its kind's (`topicSettings`): what it has, and whether that breaks it. */
export interface TopicSettingsFound {
  topic: string;
  wrong: Array<{ name: string; want: string; have: string }>;
  /** A setting in `ESSENTIAL` is wrong: the topic loses what it must keep. */
  essential: boolean;
  /** The `kafka-configs` command that gives the topic its settings. */
  command: string;
}

/**
 * The settings of the compacted and retained topics, checked on a broker. Made before a setting was added, or changed
 * by hand, a topic keeps what it had (upgrade probe: `kafka-configs --alter` was an operator's step that nothing
 * checked).
 */
export class KafkaTopicSettings {
  constructor(
    private readonly admin: Admin,
    private readonly compacted: ReadonlySet<string>,
    private readonly retained: ReadonlySet<string>,
  ) {}

  /**
   * Reads the settings of those `topics` that are compacted or retained (one DescribeConfigs request), and gives each
   * whose settings differ from its kind's the right ones, keeping its other settings (Kafka's AlterConfigs replaces a
   * topic's whole set). Resolves with what it found: `fixed` (given its settings), `refused` (found wrong, and the broker
   * refused to change it: the caller fails), and `unreadable` (the broker refused to show them).
   */
  async align(
    topics: string[],
  ): Promise<{ fixed: TopicSettingsFound[]; refused: Array<TopicSettingsFound & { reason: string }>; unreadable: Array<{ topic: string; reason: string }> }> {
    const kept = topics.filter((t) => this.compacted.has(t) || this.retained.has(t));
    const out = {
      fixed: [] as TopicSettingsFound[],
      refused: [] as Array<TopicSettingsFound & { reason: string }>,
      unreadable: [] as Array<{ topic: string; reason: string }>,
    };
    if (!kept.length) return out;
    let described;
    try {
      described = await this.admin.describeConfigs({ resources: kept.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })), includeSynonyms: false });
    } catch (e) {
      out.unreadable.push(...kept.map((topic) => ({ topic, reason: (e as Error).message })));
      return out;
    }
    for (const r of described.resources) {
      if (r.errorCode) {
        out.unreadable.push({ topic: r.resourceName, reason: r.errorMessage || `error code ${r.errorCode}` });
        continue;
      }
      const have = new Map(r.configEntries.map((c) => [c.configName, c.configValue]));
      const want = topicSettings(r.resourceName, this.compacted, this.retained);
      const wrong = want.filter((w) => have.get(w.name) !== w.value).map((w) => ({ name: w.name, want: w.value, have: String(have.get(w.name)) }));
      if (!wrong.length) continue;
      const command =
        `kafka-configs --bootstrap-server <broker> --alter --entity-type topics --entity-name ${r.resourceName} --add-config ` +
        want.map((e) => `${e.name}=${e.value}`).join(',');
      const found = { topic: r.resourceName, wrong, essential: wrong.some((w) => ESSENTIAL.has(w.name)), command };
      // The topic's own settings, ours over them: AlterConfigs resets every topic setting it is not given.
      const own = r.configEntries.filter((c) => c.configSource === ConfigSource.TOPIC_CONFIG && !want.some((w) => w.name === c.configName));
      try {
        await this.admin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: ConfigResourceTypes.TOPIC,
              name: r.resourceName,
              configEntries: [...own.map((c) => ({ name: c.configName, value: c.configValue })), ...want],
            },
          ],
        });
        out.fixed.push(found);
      } catch (e) {
        out.refused.push({ ...found, reason: (e as Error).message });
      }
    }
    return out;
  }
}

/**
 * Creates topics and waits until every partition has a leader. Another instance may create the same
 * topics at the same moment: "already exists" is fine. kafkajs' own wait (`waitForLeaders`) retries only
 * LEADER_NOT_AVAILABLE, but a KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION until a new topic's
 * metadata has reached it, which made the first publish or subscribe fail now and then. `compacted`: the (wire)
 * names to create with `cleanup.policy=compact` (the registry's `COMPACTED_TOPICS`); `retained`: those kept for ever
 * (`RETAINED_TOPICS`).
 */
export async function createTopics(
  admin: Admin,
  topics: string[],
  partitions: number,
  timeoutMs = 30_000,
  compacted: ReadonlySet<string> = new Set(),
  retained: ReadonlySet<string> = new Set(),
): Promise<void> {
  await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1, configEntries: topicSettings(topic, compacted, retained) })),
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
