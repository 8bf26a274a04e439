import type { ProposalRun } from './tally';

/**
 * The scripted agent's answer to a final "not now": an approval the per-proposer backlog cap rejected (ADR 0013), or an
 * action prohibited for a reason that passes (`retryLater`: the trust stack's verdict gone stale in an outage, a
 * degradation mode), as the typed client's `proposeAgainReason` reads them from the action's view. That action is final,
 * and its reason says to propose it again later. So the agent proposes it again, under a new idempotency key, after a
 * pause that doubles with each try (`firstDelayMs`, at most `maxDelayMs`), at most `maxAttempts` tries in all. A try that was not accepted (an outage) is tried again under the same key, so a
 * proposal accepted without its answer arriving is not made twice. A faulty stack keeps reviewers from deciding and the
 * trust monitor from reporting; without this the run counted as lost what the agent was told, signed and audited, to
 * propose again.
 */
export class Reproposals {
  /** Runs waiting to be proposed again → when, and why their action was not to run. */
  private readonly waiting = new Map<ProposalRun, { at: number; reason: string }>();
  /** Submissions per run, accepted or not. */
  private readonly tries = new Map<ProposalRun, number>();
  private inFlight = 0;

  constructor(private readonly o: { maxAttempts: number; firstDelayMs: number; maxDelayMs: number; now?: () => number }) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** The agent read that `run`'s current action will not run, for `reason`, and is to be proposed again later (unless it tried enough). */
  toldAgain(run: ProposalRun, reason: string): void {
    if (!this.open(run)) return;
    const tries = this.tries.get(run) ?? 0;
    this.waiting.set(run, { at: this.now() + Math.min(this.o.firstDelayMs * 2 ** tries, this.o.maxDelayMs), reason });
  }

  /** Whether `run` may still be told again and proposed anew (not waiting, tries left). */
  open(run: ProposalRun): boolean {
    return !this.waiting.has(run) && (this.tries.get(run) ?? 0) < this.o.maxAttempts;
  }

  /** Proposals waiting or being proposed again: the run is not quiet while any is. */
  get busy(): number {
    return this.waiting.size + this.inFlight;
  }

  /**
   * Proposes again, with `submit` (which sets `run.actionId` on a 202), the runs that are due, at most `limit` at once.
   * Returns the new action ids. A submission that gave up leaves the run on the action it replaces, and waits again.
   */
  async proposeDue(submit: (run: ProposalRun, key: string) => Promise<void>, limit: number): Promise<string[]> {
    const due = [...this.waiting].filter(([, w]) => w.at <= this.now()).slice(0, limit);
    const added: string[] = [];
    await Promise.all(
      due.map(async ([run, { reason }]) => {
        this.waiting.delete(run);
        this.tries.set(run, (this.tries.get(run) ?? 0) + 1);
        this.inFlight++;
        const before = run.actionId;
        try {
          // One key per action it replaces (the API takes letters, digits and . : _ -).
          await submit(run, `${run.target}.r${(run.replaced?.length ?? 0) + 1}`);
        } finally {
          this.inFlight--;
        }
        if (run.actionId && run.actionId !== before) {
          run.replaced = [...(run.replaced ?? []), { actionId: before!, reason }];
          delete run.gaveUp;
          added.push(run.actionId);
        }
        // Not accepted (the submission gave up): the action it replaces is settled, so no view will tell the agent
        // again. It goes again later under the same key, while tries are left.
        else this.toldAgain(run, reason);
      }),
    );
    return added;
  }
}
