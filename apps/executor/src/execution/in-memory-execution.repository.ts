import { ActionRecord, ClaimResult, ExecutionRepository, ExecutionState, ReviewDecidedEvent } from './execution.repository';

/** The in-process twin of the PostgreSQL execution record (embedded mode, unit tests); passes the same suite. */
export class InMemoryExecutionRepository implements ExecutionRepository {
  private readonly records = new Map<string, ActionRecord>();
  private readonly consumed = new Set<string>();
  private readonly early = new Map<string, ReviewDecidedEvent>();

  async saveDecision(r: Omit<ActionRecord, 'state'>) {
    if (!this.records.has(r.actionId)) this.records.set(r.actionId, { ...structuredClone(r), state: 'decided' });
    return structuredClone(this.records.get(r.actionId)!);
  }

  async get(actionId: string) {
    const r = this.records.get(actionId);
    return r && structuredClone(r);
  }

  async claim(actionId: string, authorisedBy: string, nonce: string | null, now: Date): Promise<ClaimResult> {
    if (nonce && this.consumed.has(nonce)) return { claimed: false, reason: 'approval-consumed' };
    const r = this.records.get(actionId);
    if (!r || r.state !== 'decided') return { claimed: false, reason: 'not-decided' };
    if (nonce) this.consumed.add(nonce);
    Object.assign(r, { state: 'executing', authorisedBy, claimedAt: now.toISOString() });
    return { claimed: true };
  }

  async finish(actionId: string, state: ExecutionState, outcome: ActionRecord['outcome']) {
    const r = this.records.get(actionId);
    if (r) Object.assign(r, { state, outcome });
  }

  async keepEarlyApproval(actionId: string, event: ReviewDecidedEvent) {
    if (!this.early.has(actionId)) this.early.set(actionId, structuredClone(event));
  }

  async takeEarlyApproval(actionId: string) {
    const e = this.early.get(actionId);
    this.early.delete(actionId);
    return e;
  }
}

/** The in-process execution record, for the embedded host and tests. */
export const createInMemoryExecutionRepository = (): ExecutionRepository => new InMemoryExecutionRepository();
