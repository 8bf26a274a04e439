import type { BeforeApplicationShutdown } from '@nestjs/common';

/**
 * Wakes the long polls of `GET /v1/actions/{id}?waitFor=…` when this process's view consumer records an entry
 * of their action. In process only: with several orchestrator instances, the event may be consumed by another
 * one (partitions are shared in the group), so a waiting request also re-reads the view on a short, bounded
 * interval (`LONG_POLL_REREAD_MS`) — the notifier makes the common case immediate, the re-read keeps it honest.
 */
export class ActionChanges implements BeforeApplicationShutdown {
  private readonly waiters = new Map<string, Set<() => void>>();
  private stopping = false;

  /**
   * The service is stopping: every waiting long poll answers now, with the view as it is, and none waits from here on
   * (the HTTP server waits for its open requests: one held poll would hold the stop for up to 30 s, past a supervisor's
   * grace period). Clients poll again, on the next instance or after the restart.
   */
  beforeApplicationShutdown(): void {
    this.stopping = true;
    for (const id of [...this.waiters.keys()]) this.notify(id);
  }

  /** True once the service is stopping: long polls answer at once. */
  get closing(): boolean {
    return this.stopping;
  }

  /** The view of `actionId` changed: wake every request waiting on it. */
  notify(actionId: string): void {
    const waiting = this.waiters.get(actionId);
    if (!waiting) return;
    this.waiters.delete(actionId);
    for (const wake of waiting) wake();
  }

  /** Resolves at the next change of `actionId` or after `ms`, whichever comes first (never rejects). */
  next(actionId: string, ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const waiting = this.waiters.get(actionId) ?? new Set<() => void>();
      const wake = () => {
        clearTimeout(timer);
        waiting.delete(wake);
        if (!waiting.size && this.waiters.get(actionId) === waiting) this.waiters.delete(actionId);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      waiting.add(wake);
      this.waiters.set(actionId, waiting);
    });
  }

  /** How many requests wait (for tests and metrics). */
  get waiting(): number {
    let n = 0;
    for (const w of this.waiters.values()) n += w.size;
    return n;
  }
}

/** The longest one long poll may hold a request: clients loop over polls for longer waits. */
export const LONG_POLL_MAX_MS = 30_000;
/** How often a waiting request re-reads the view when no in-process notification came. */
export const LONG_POLL_REREAD_MS = 500;
/**
 * How many long polls one principal holds open at once in one instance; beyond it a poll answers at once, as a plain
 * read (the client polls again, spaced): one token cannot pile up waiting requests and their re-reads (red team,
 * 2026-12-02: 300 at once slowed every other agent's actions).
 */
export const LONG_POLLS_PER_PRINCIPAL = 32;
