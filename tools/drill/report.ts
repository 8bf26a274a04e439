import { END_STATUSES } from './client';

/** One thing the drill checked: what must hold, whether it did, and what was seen. */
export interface DrillCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * What a drill prints: what it did (steps, with the time since the start), what degraded and how fast, what the agents
 * saw (the statuses of their actions and the HTTP answers they got), what was lost (must be nothing), what it left
 * pending (and its ids), and its checks. A drill the pre-flight stopped says why on its first line, and did nothing more.
 */
export class DrillReport {
  private readonly started = Date.now();
  readonly steps: Array<{ atMs: number; what: string }> = [];
  readonly degraded: Array<{ what: string; afterMs: number }> = [];
  /** HTTP answers the agent got, by status (0: no answer). */
  readonly answers: Record<string, number> = {};
  /** The final status of every action the drill proposed, by action id. */
  readonly actions = new Map<string, string>();
  readonly checks: DrillCheck[] = [];
  /** Why the drill stopped before it began (the pre-flight found the system where it can show nothing); undefined when it ran. */
  stopped?: string;

  constructor(
    readonly name: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Milliseconds since the drill started. */
  now(): number {
    return Date.now() - this.started;
  }

  step(what: string): void {
    this.steps.push({ atMs: this.now(), what });
    this.log(`drill ${this.name}: ${(this.now() / 1000).toFixed(1)} s  ${what}`);
  }

  /** Something degraded (or recovered) `afterMs` after the cause the drill injected. */
  degradedAfter(what: string, afterMs: number): void {
    this.degraded.push({ what, afterMs });
    this.step(`${what} (after ${(afterMs / 1000).toFixed(2)} s)`);
  }

  answered(status: number): void {
    this.answers[status] = (this.answers[status] ?? 0) + 1;
  }

  check(name: string, ok: boolean, detail: string): boolean {
    this.checks.push({ name, ok, detail });
    this.log(`drill ${this.name}: ${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
    return ok;
  }

  /** The drill does nothing more: the system is not where it can show anything. `reason` is one line. */
  stop(reason: string): void {
    this.stopped = reason;
    this.log(`drill ${this.name}: STOPPED ${reason}`);
  }

  /** Actions of the drill whose life has not ended: what it leaves behind (waiting for a person, or still on the way). */
  pending(): string[] {
    return [...this.actions].filter(([, s]) => !END_STATUSES.has(s)).map(([id]) => id);
  }

  /** Accepted actions that never got anywhere: unknown to the system, or still only `proposed` at the end. */
  lost(): string[] {
    return [...this.actions].filter(([, s]) => s === 'unknown' || s === 'proposed').map(([id]) => id);
  }

  passed(): boolean {
    return !this.stopped && this.checks.length > 0 && this.checks.every((c) => c.ok) && this.lost().length === 0;
  }

  summary() {
    const byStatus: Record<string, number> = {};
    for (const s of this.actions.values()) byStatus[s] = (byStatus[s] ?? 0) + 1;
    return {
      drill: this.name,
      passed: this.passed(),
      ...(this.stopped && { stopped: this.stopped }),
      seconds: Number((this.now() / 1000).toFixed(1)),
      did: this.steps.map((s) => `${(s.atMs / 1000).toFixed(1)} s ${s.what}`),
      degraded: this.degraded.map((d) => `${d.what} after ${(d.afterMs / 1000).toFixed(2)} s`),
      agentsSaw: { answers: this.answers, actions: byStatus, ended: [...this.actions.values()].filter((s) => END_STATUSES.has(s)).length },
      lost: this.lost(),
      leftPending: this.pending().map((id) => `${id}: ${this.actions.get(id)}`),
      checks: this.checks,
    };
  }

  /** The report as text, for a person. */
  text(): string {
    const s = this.summary();
    const lines = [
      s.stopped
        ? `drill ${s.drill}: STOPPED before it began, in ${s.seconds} s: ${s.stopped}`
        : `drill ${s.drill}: ${s.passed ? 'PASSED' : 'FAILED'} in ${s.seconds} s`,
      'what it did:',
      ...s.did.map((d) => `  ${d}`),
      'what degraded, and how fast:',
      ...(s.degraded.length ? s.degraded.map((d) => `  ${d}`) : ['  nothing']),
      `what the agents saw: HTTP ${JSON.stringify(s.agentsSaw.answers)}; actions ${JSON.stringify(s.agentsSaw.actions)}`,
      `what was lost: ${s.lost.length ? s.lost.join(', ') : 'nothing'}`,
      `what it left pending: ${s.leftPending.length ? `${s.leftPending.length}: ${s.leftPending.join(', ')}` : 'nothing'}`,
      'checks:',
      ...(s.checks.length ? s.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`) : ['  none ran']),
    ];
    return `${lines.join('\n')}\n`;
  }
}
