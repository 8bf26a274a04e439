import { DependencyUnavailableError, InMemoryBus } from '@countersign/bus';
import type { AnyTopic, TopicMap } from '@countersign/contracts';

/**
 * The real in-memory bus, keeping a list of everything published, for unit tests of producers. While `down`,
 * publishing fails as Kafka's does in an outage (`DependencyUnavailableError`).
 */
export class RecordingBus extends InMemoryBus {
  readonly published: Array<{ topic: AnyTopic; event: TopicMap[AnyTopic] }> = [];
  down = false;

  override async publish<T extends AnyTopic>(topic: T, event: TopicMap[T]): Promise<void> {
    if (this.down) throw new DependencyUnavailableError('kafka is down');
    this.published.push({ topic, event });
    await super.publish(topic, event);
  }
}
