import type { Logger } from '@countersign/logging';

/** What commits a group's offsets: kafkajs' `consumer.commitOffsets` (offsets are the next to read). */
export type CommitOffsets = (offsets: { topic: string; partition: number; offset: string }[]) => Promise<void>;

/**
 * Commits a consumer's handled offsets in the background, `intervalMs` after the first one handled since the last
 * commit, instead of after each batch.
 *
 * kafkajs commits after every batch and waits for the broker's answer before it fetches again: one commit round trip
 * (~6 ms on this machine) in every hop's cycle, and a commit request per partition batch. Here a handled prefix is
 * noted (`handled`), and what was noted is committed at most every `intervalMs`, off the fetch path. Nothing is
 * committed before it is handled: the worst a stop without `flush` (a crash) costs is what the last interval handled,
 * delivered again, which at-least-once delivery already allows and every handler dedupes.
 *
 * The timer is armed only while something waits to be committed: an idle group does not wake its process ten times a
 * second for nothing (bench/wake-ups.ts measures what a wake-up costs).
 */
export class OffsetCommits {
  /** Per `topic/partition`: the next offset to read, handled but not yet committed. */
  private readonly pending = new Map<string, { topic: string; partition: number; offset: string }>();
  /** Armed while something noted waits for its commit. */
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private committing: Promise<void> = Promise.resolve();
  /** The flush waiting for the commit under way, if one waits. */
  private queued?: Promise<void>;

  constructor(
    private readonly commit: CommitOffsets,
    private readonly logger: Logger,
    private readonly group: string,
    private readonly intervalMs: number,
  ) {}

  /** Everything of `partition` of `topic` up to `offset` is handled. */
  handled(topic: string, partition: number, offset: string): void {
    this.pending.set(`${topic}/${partition}`, { topic, partition, offset: (BigInt(offset) + 1n).toString() });
    this.arm();
  }

  /** A commit of what is noted, `intervalMs` from now, unless one is armed already (or the committer stopped). */
  private arm(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Keeps only the partitions of `assigned` (after a rebalance: another member owns the others now). */
  retain(assigned: Record<string, number[]>): void {
    const kept = new Set(Object.entries(assigned).flatMap(([topic, partitions]) => partitions.map((p) => `${topic}/${p}`)));
    for (const key of this.pending.keys()) if (!kept.has(key)) this.pending.delete(key);
  }

  /**
   * Commits what is noted now (after any commit still under way); a failed commit is noted again unless overtaken. While
   * one commit waits behind another (the broker slow or away), a further flush joins it instead of queueing its own.
   */
  flush(): Promise<void> {
    if (this.queued) return this.queued;
    this.queued = this.committing.then(async () => {
      this.queued = undefined;
      if (!this.pending.size) return;
      const offsets = [...this.pending.entries()];
      this.pending.clear();
      try {
        await this.commit(offsets.map(([, o]) => o));
      } catch (e) {
        for (const [key, o] of offsets) if (!this.pending.has(key)) this.pending.set(key, o);
        this.arm();
        this.logger.debug({ err: e, group: this.group }, 'offset commit failed; retried at the next interval');
      }
    });
    this.committing = this.queued;
    return this.queued;
  }

  /** Commits what is noted, and arms no timer from now on. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
