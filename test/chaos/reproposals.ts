import type { ProposalRun } from './tally';

/** The reason code of an approval the review queue rejected at intake: its proposer had the contract's most waiting. */
export const CAPPED = 'proposer_backlog_full';

/** Whether an action's view (`GET /v1/actions/{id}`) says the backlog cap rejected it: what the agent reads. */
export const cappedView = (body: Record<string, unknown>): boolean => body.status === 'rejected' && body.reasonCode === CAPPED;

/**
 * The scripted agent's answer to the per-proposer backlog cap (ADR 0013): an approval rejected with `proposer_backlog_full`
 * is final for that action, and its reason says to propose it again once the backlog is decided. So the agent proposes
 * it again, under a new idempotency key, after a pause that doubles with each try (`firstDelayMs`, at most `maxDelayMs`),
 * at most `maxAttempts` tries in all. A try that was not accepted (an outage) is tried again under the same key, so a
 * proposal accepted without its answer arriving is not made twice. A faulty stack keeps reviewers from deciding, so the
 * backlog an outage builds reaches the cap; without this the run counted the agent's capped approvals as lost, though
 * each was refused, signed and told.
 */
export class Reproposals {
  /** Runs waiting to be proposed again → when. */
  private readonly waiting = new Map<ProposalRun, number>();
  /** Submissions per run, accepted or not. */
  private readonly tries = new Map<ProposalRun, number>();
  private inFlight = 0;

  constructor(private readonly o: { maxAttempts: number; firstDelayMs: number; maxDelayMs: number; now?: () => number }) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** The agent read that `run`'s current action was capped: it is proposed again later (unless it tried enough). */
  capped(run: ProposalRun): void {
    if (!this.open(run)) return;
    const tries = this.tries.get(run) ?? 0;
    this.waiting.set(run, this.now() + Math.min(this.o.firstDelayMs * 2 ** tries, this.o.maxDelayMs));
  }

  /** Whether `run` may still be capped again and proposed anew (not waiting, tries left). */
  open(run: ProposalRun): boolean {
    return !this.waiting.has(run) && (this.tries.get(run) ?? 0) < this.o.maxAttempts;
  }

  /** Proposals waiting or being proposed again: the run is not quiet while any is. */
  get busy(): number {
    return this.waiting.size + this.inFlight;
  }

  /**
   * Proposes again, with `submit` (which sets `run.actionId` on a 202), the runs that are due, at most `limit` at once.
   * Returns the new action ids. A submission that gave up leaves the run on its capped action.
   */
  async proposeDue(submit: (run: ProposalRun, key: string) => Promise<void>, limit: number): Promise<string[]> {
    const due = [...this.waiting].filter(([, at]) => at <= this.now()).slice(0, limit);
    const added: string[] = [];
    await Promise.all(
      due.map(async ([run]) => {
        this.waiting.delete(run);
        this.tries.set(run, (this.tries.get(run) ?? 0) + 1);
        this.inFlight++;
        const before = run.actionId;
        try {
          // One key per capped action it replaces (the API takes letters, digits and . : _ -).
          await submit(run, `${run.target}.r${(run.capped?.length ?? 0) + 1}`);
        } finally {
          this.inFlight--;
        }
        if (run.actionId && run.actionId !== before) {
          run.capped = [...(run.capped ?? []), before!];
          delete run.gaveUp;
          added.push(run.actionId);
        }
      }),
    );
    return added;
  }
}
