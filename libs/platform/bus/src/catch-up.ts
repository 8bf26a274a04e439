/**
 * Tells a replayed subscription when it has handled everything its topics held when it started: the moment state
 * rebuilt from a topic's history (a degradation mode, an approved contract) is as current as the log, and the moment
 * an empty topic is known to be empty rather than not read yet. Both adapters feed it: the ends of each partition at
 * the start (`ends`) and each handled prefix (`handled`); it calls back once, when every partition is handled up to
 * its end.
 */
export class CatchUp {
  private readonly end = new Map<string, number>();
  private readonly done = new Map<string, number>();
  private pendingTopics: number;
  private fired = false;

  constructor(
    topics: number,
    private readonly onCaughtUp: () => void,
  ) {
    this.pendingTopics = topics;
  }

  /** The next offset after the last message of each partition of `topic` when the subscription started. */
  ends(topic: string, ends: Array<{ partition: number; end: number }>): void {
    for (const { partition, end } of ends) this.end.set(`${topic}/${partition}`, end);
    this.pendingTopics--;
    this.check();
  }

  /** The subscription handled `topic`/`partition` up to (excluding) `next`. */
  handled(topic: string, partition: number, next: number): void {
    const key = `${topic}/${partition}`;
    if ((this.done.get(key) ?? 0) < next) this.done.set(key, next);
    this.check();
  }

  private check(): void {
    if (this.fired || this.pendingTopics > 0) return;
    for (const [key, end] of this.end) if ((this.done.get(key) ?? 0) < end) return;
    this.fired = true;
    this.onCaughtUp();
  }
}
