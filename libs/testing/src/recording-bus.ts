import { InMemoryBus } from '@countersign/bus';
import type { AnyTopic, TopicMap } from '@countersign/contracts';

/** The real in-memory bus, keeping a list of everything published, for unit tests of producers. */
export class RecordingBus extends InMemoryBus {
  readonly published: Array<{ topic: AnyTopic; event: TopicMap[AnyTopic] }> = [];

  override async publish<T extends AnyTopic>(topic: T, event: TopicMap[T]): Promise<void> {
    this.published.push({ topic, event });
    await super.publish(topic, event);
  }
}
