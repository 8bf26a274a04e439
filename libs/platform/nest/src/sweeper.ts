import type { Logger } from '@countersign/logging';

/**
 * A background pass on a timer, for the outboxes (events recorded with their state, published again until known
 * published): one pass at a time per instance, a failing pass logged once per outage (it runs every few seconds) and
 * never thrown, and a pass in flight awaited at shutdown. `pass` returns how many things it did.
 */
export class Sweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private failing = false;

  constructor(
    private readonly pass: (now: Date) => Promise<number>,
    private readonly everyMs: number,
    private readonly logger: Logger,
    /** What it sweeps, for the log: "decision events", "outcome events". */
    private readonly what: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.run(), this.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass now (or the one in flight); resolves with how many it did, 0 when it failed. */
  run(now = new Date()): Promise<number> {
    this.running ??= this.once(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async once(now: Date): Promise<number> {
    try {
      const done = await this.pass(now);
      if (this.failing) this.logger.warn({ done }, `${this.what}: the sweep works again`);
      this.failing = false;
      return done;
    } catch (e) {
      if (!this.failing) this.logger.error({ err: e }, `${this.what}: the sweep fails; retrying every ${this.everyMs} ms`);
      this.failing = true;
      return 0;
    }
  }
}
