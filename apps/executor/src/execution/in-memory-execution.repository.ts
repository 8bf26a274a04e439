import {
  ActionRecord,
  ClaimResult,
  ExecutionRepository,
  ExecutionState,
  ReviewDecidedEvent,
  UnpublishedOutcome,
  UNSETTLED_STATES,
  UnsettledClaim,
  UnsettledOutcomes,
} from './execution.repository';

/** The in-process twin of the PostgreSQL execution record (embedded mode, unit tests); passes the same suite. */
export class InMemoryExecutionRepository implements ExecutionRepository {
  private readonly records = new Map<string, ActionRecord>();
  private readonly consumed = new Set<string>();
  private readonly early = new Map<string, ReviewDecidedEvent>();
  /** Outcomes still to publish: action id → when the outcome was recorded. */
  private readonly toPublish = new Map<string, number>();
  /** Actions whose outcome is unsettled: action id → since when (ms). */
  private readonly unsettledSince = new Map<string, number>();
  /** Actions no reconciler claims before a time (ms): their target's `Retry-After`. */
  private readonly retryNotBefore = new Map<string, number>();

  /** Keeps when an action first became unsettled, as long as it stays so; forgets it once it is settled. */
  private track(actionId: string, state: ExecutionState, at: number) {
    if (!UNSETTLED_STATES.includes(state)) this.unsettledSince.delete(actionId);
    else if (!this.unsettledSince.has(actionId)) this.unsettledSince.set(actionId, at);
  }

  async saveDecision(r: Omit<ActionRecord, 'state'>) {
    if (!this.records.has(r.actionId)) this.records.set(r.actionId, { ...structuredClone(r), state: 'decided', reconcileAttempts: 0 });
    return structuredClone(this.records.get(r.actionId)!);
  }

  async saveClaimedDecision(r: Omit<ActionRecord, 'state'>, authorisedBy: string, now: Date) {
    const stored = !this.records.has(r.actionId);
    if (stored) this.records.set(r.actionId, { ...structuredClone(r), state: 'executing', authorisedBy, claimedAt: now.toISOString(), reconcileAttempts: 0 });
    return { stored, record: structuredClone(this.records.get(r.actionId)!) };
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

  async release(actionId: string, claim: { authorisedBy: string; claimedAt: string; approvalNonce: string | null }) {
    const r = this.records.get(actionId);
    if (!r || r.state !== 'executing' || r.authorisedBy !== claim.authorisedBy || r.claimedAt !== claim.claimedAt) return false;
    if (claim.approvalNonce) this.consumed.delete(claim.approvalNonce);
    r.state = 'decided';
    delete r.authorisedBy;
    delete r.claimedAt;
    return true;
  }

  async finish(actionId: string, state: ExecutionState, outcome: ActionRecord['outcome'], claim?: { claimedAt: string }, retryNotBefore?: Date) {
    const r = this.records.get(actionId);
    if (!r) return false;
    if (claim && !(r.state === 'executing' && r.claimedAt === claim.claimedAt)) return false;
    Object.assign(r, { state, outcome: structuredClone(outcome) });
    if (retryNotBefore) this.retryNotBefore.set(actionId, retryNotBefore.getTime());
    else this.retryNotBefore.delete(actionId);
    this.track(actionId, state, Date.now());
    this.toPublish.delete(actionId);
    if (outcome?.event) this.toPublish.set(actionId, Date.now());
    return true;
  }

  async unpublishedOutcomes(recordedBefore: Date, limit: number): Promise<UnpublishedOutcome[]> {
    return [...this.toPublish]
      .filter(([, at]) => at <= recordedBefore.getTime())
      .sort(([, a], [, b]) => a - b)
      .slice(0, limit)
      .map(([actionId]) => {
        const { topic, event } = this.records.get(actionId)!.outcome!;
        return { actionId, topic, event: structuredClone(event!) };
      });
  }

  async markOutcomePublished(actionId: string, eventId: string) {
    if (this.records.get(actionId)?.outcome?.event?.id === eventId) this.toPublish.delete(actionId);
  }

  // No await between reading and claiming: in one process, that is what FOR UPDATE SKIP LOCKED is in PostgreSQL.
  async claimUnsettled(now: Date, leaseMs: number, limit: number): Promise<UnsettledClaim[]> {
    const expiredBy = now.getTime() - leaseMs;
    const due = [...this.records.values()]
      .filter((r) => r.state === 'outcome_unknown' || ((r.state === 'executing' || r.state === 'reconciling') && Date.parse(r.claimedAt ?? '') <= expiredBy))
      .filter((r) => (this.retryNotBefore.get(r.actionId) ?? -Infinity) <= now.getTime())
      .sort((a, b) => (a.claimedAt ?? '').localeCompare(b.claimedAt ?? ''))
      .slice(0, limit);
    return due.map((r) => {
      const previous = r.state as UnsettledClaim['previous'];
      const previousClaimedAt = r.claimedAt;
      Object.assign(r, { state: 'reconciling', claimedAt: now.toISOString(), reconcileAttempts: (r.reconcileAttempts ?? 0) + 1 });
      this.retryNotBefore.delete(r.actionId);
      // Stranded: unsettled since its call's lease ran out (as `unsettledOutcomes` counted it before this claim).
      this.track(r.actionId, 'reconciling', previous === 'executing' ? Math.min(now.getTime(), Date.parse(previousClaimedAt!) + leaseMs) : now.getTime());
      return { record: structuredClone(r) as UnsettledClaim['record'], previous, previousClaimedAt };
    });
  }

  async settle(actionId: string, expected: { state: ExecutionState; claimedAt?: string }, state: ExecutionState, outcome: ActionRecord['outcome']) {
    const r = this.records.get(actionId);
    if (!r || r.state !== expected.state || (expected.claimedAt !== undefined && r.claimedAt !== expected.claimedAt)) return false;
    Object.assign(r, { state, outcome: structuredClone(outcome) });
    this.track(actionId, state, Date.now());
    this.toPublish.delete(actionId);
    this.retryNotBefore.delete(actionId);
    return true;
  }

  async postpone(actionId: string, claim: { claimedAt: string }, until: Date) {
    const r = this.records.get(actionId);
    if (!r || r.state !== 'reconciling' || r.claimedAt !== claim.claimedAt) return false;
    this.retryNotBefore.set(actionId, until.getTime());
    return true;
  }

  async unsettledOutcomes(now: Date, leaseMs: number): Promise<UnsettledOutcomes> {
    const expiredBy = now.getTime() - leaseMs;
    const stranded = [...this.records.values()]
      .filter((r) => r.state === 'executing' && !this.unsettledSince.has(r.actionId) && Date.parse(r.claimedAt ?? '') <= expiredBy)
      .map((r) => Date.parse(r.claimedAt!) + leaseMs);
    const since = [...this.unsettledSince.values(), ...stranded];
    return since.length ? { count: since.length, oldestSince: new Date(Math.min(...since)) } : { count: 0 };
  }

  async keepEarlyApproval(actionId: string, event: ReviewDecidedEvent) {
    if (!this.early.has(actionId)) this.early.set(actionId, structuredClone(event));
  }

  async earlyApproval(actionId: string) {
    const e = this.early.get(actionId);
    return e && structuredClone(e);
  }

  async forgetEarlyApproval(actionId: string, eventId: string) {
    if (this.early.get(actionId)?.id === eventId) this.early.delete(actionId);
  }
}

/** The in-process execution record, for the embedded host and tests. */
export const createInMemoryExecutionRepository = (): ExecutionRepository => new InMemoryExecutionRepository();
