import { isProposerOf, ItemReader, mayWorkItem, ReviewerSide } from './item-roles';
import {
  Approval,
  ApprovalAuth,
  ApprovalRecording,
  claimHolds,
  ClockClaim,
  ClockStep,
  DecideWith,
  DecisionEvent,
  InboxQuery,
  LeftItem,
  overdue,
  RecentDecisionsOf,
  ReviewClaim,
  ReviewItem,
  ReviewItemRepository,
  ReviewStatus,
  StoredClockEvent,
  StoredDecisionEvent,
  TenantPendingAheadOf,
  UNKNOWN_AUTH_METHOD,
} from './review-item.repository';

/** The in-process twin of the PostgreSQL review items (embedded mode, unit tests); passes the same suite. */
export class InMemoryReviewItemRepository implements ReviewItemRepository {
  private readonly items = new Map<string, ReviewItem>();
  private readonly approvalsOf = new Map<string, Map<string, { reason: string; approvedAt: string } & Partial<ApprovalAuth>>>();
  private readonly events = new Map<string, StoredDecisionEvent>();
  private readonly clockEvents = new Map<string, StoredClockEvent>();

  async add(item: ReviewItem): Promise<boolean> {
    if (this.items.has(item.actionId)) return false;
    this.items.set(item.actionId, structuredClone(item));
    return true;
  }

  async get(actionId: string) {
    const item = this.items.get(actionId);
    return item && structuredClone(item);
  }

  async pending(limit: number, reviewer?: ItemReader) {
    return [...this.items.values()]
      .filter((i) => i.status === 'pending' && (!reviewer || mayWorkItem(i, reviewer)))
      .sort((a, b) => Date.parse(a.dueAt) - Date.parse(b.dueAt) || (a.actionId < b.actionId ? -1 : a.actionId > b.actionId ? 1 : 0))
      .slice(0, limit)
      .map((i) => structuredClone(i));
  }

  async pendingAhead(item: Pick<ReviewItem, 'actionId' | 'proposerPrincipal' | 'createdAt'>, atMost: number) {
    const at = Date.parse(item.createdAt);
    let n = 0;
    for (const i of this.items.values()) {
      if (n >= atMost) break;
      if (i.status !== 'pending' || (i.kind ?? 'approval') !== 'approval' || i.proposerPrincipal !== item.proposerPrincipal) continue;
      const t = Date.parse(i.createdAt);
      if (t < at || (t === at && i.actionId < item.actionId)) n++;
    }
    return n;
  }

  async tenantPendingAhead(item: TenantPendingAheadOf, atMost: number) {
    const at = Date.parse(item.createdAt);
    let n = 0;
    for (const i of this.items.values()) {
      if (n >= atMost) break;
      if (i.status !== 'pending' || (i.kind ?? 'approval') !== 'approval' || i.proposal.tenant !== item.proposal.tenant) continue;
      const t = Date.parse(i.createdAt);
      if (t < at || (t === at && i.actionId < item.actionId)) n++;
    }
    return n;
  }

  async inbox(q: InboxQuery) {
    const { reviewer: r } = q;
    return (await this.pending(Number.MAX_SAFE_INTEGER))
      .filter(
        (i) =>
          (i.kind ?? 'approval') === 'approval' &&
          mayWorkItem(i, r) &&
          !isProposerOf(r, i) &&
          !i.approvedBy?.includes(r.id) &&
          !i.authoredBy?.includes(r.id) &&
          (!q.slaClass || i.slaClass === q.slaClass) &&
          (!q.actionType || i.proposal.actionType === q.actionType) &&
          (!q.tenant || i.proposal.tenant === q.tenant) &&
          (!q.agentId || i.proposal.proposer.agentId === q.agentId),
      )
      .slice(0, q.limit);
  }

  async decide(actionId: string, status: Exclude<ReviewStatus, 'pending'>, by: string[], reason: string, at: Date, event?: DecisionEvent, with_?: DecideWith) {
    const item = this.items.get(actionId);
    if (!item || item.status !== 'pending') return undefined;
    // Past its due time only the clock's expiry decides it (as the PostgreSQL statement).
    if (status !== 'expired' && Date.parse(item.dueAt) <= at.getTime()) return undefined;
    if (with_?.claimant !== undefined && claimHolds(item.claim, at) && item.claim.by !== with_.claimant) return undefined;
    const approval = with_?.approval;
    if (approval) {
      const before = item.approvedBy ?? [];
      if (before.length !== approval.after.length || before.some((a, i) => a !== approval.after[i])) return undefined;
      // No await between the checks and the writes: concurrent decisions take turns, as on PostgreSQL's row lock.
      this.recordApproval(item, approval.approver, approval.reason, approval.auth);
    }
    Object.assign(item, { status, deciders: by, decisionReason: reason, decidedAt: at.toISOString() });
    if (with_?.revisionAsked !== undefined) item.revisionAsked = with_.revisionAsked;
    if (event) this.events.set(actionId, structuredClone({ ...event, actionId, decidedAt: at.toISOString() }));
    return structuredClone(item);
  }

  async decisionEvent(actionId: string) {
    const stored = this.events.get(actionId);
    return stored && structuredClone(stored);
  }

  async unpublished(decidedBefore: Date, limit: number) {
    return [...this.events.values()]
      .filter((e) => !e.publishedAt && Date.parse(e.decidedAt) <= decidedBefore.getTime())
      .sort((a, b) => Date.parse(a.decidedAt) - Date.parse(b.decidedAt) || (a.actionId < b.actionId ? -1 : a.actionId > b.actionId ? 1 : 0))
      .slice(0, limit)
      .map((e) => structuredClone(e));
  }

  async markPublished(actionId: string, at: Date) {
    const stored = this.events.get(actionId);
    if (stored && !stored.publishedAt) stored.publishedAt = at.toISOString();
  }

  async addApproval(actionId: string, approver: string, reason: string, recording?: ApprovalRecording) {
    const item = this.items.get(actionId);
    if (!item) return [];
    const counted = this.approvalsOf.get(actionId)?.has(approver) ?? false;
    const approvals = this.recordApproval(item, approver, reason, recording?.auth);
    // Its event with it, as the PostgreSQL store writes both in one transaction; none for an approval counted before.
    const event = counted ? undefined : recording?.event?.(approvals.map((a) => a.approver));
    if (event && !this.clockEvents.has(event.event.id)) {
      this.clockEvents.set(event.event.id, structuredClone({ ...event, actionId, createdAt: new Date().toISOString() }));
    }
    return approvals;
  }

  private recordApproval(item: ReviewItem, approver: string, reason: string, auth?: ApprovalAuth) {
    const { actionId } = item;
    const byApprover = this.approvalsOf.get(actionId) ?? new Map<string, { reason: string; approvedAt: string } & Partial<ApprovalAuth>>();
    if (!byApprover.has(approver)) byApprover.set(approver, { reason, approvedAt: new Date().toISOString(), ...auth });
    this.approvalsOf.set(actionId, byApprover);
    item.approvedBy = [...byApprover.keys()];
    return [...byApprover].map(([a, r]) => ({ approver: a, reason: r.reason }));
  }

  async claim(actionId: string, claim: ReviewClaim, now: Date) {
    const item = this.items.get(actionId);
    // Past its due time an item is the review clock's to expire: nobody takes it (race probe, 2026-12-05).
    if (!item || item.status !== 'pending' || overdue(item, now)) return undefined;
    if (!claimHolds(item.claim, now) || item.claim.by === claim.by) item.claim = { ...claim };
    return claimHolds(item.claim, now) ? { ...item.claim } : undefined;
  }

  async claimFor(actionId: string, reviewer: ReviewerSide & ItemReader, claim: ReviewClaim, now: Date, maxHeld = Infinity) {
    const item = this.items.get(actionId);
    const renewal = !!item && claimHolds(item.claim, now) && item.claim.by === reviewer.id;
    // Counted and written with no await between: claims made at once count one another, as one statement does.
    if (!renewal && this.heldBy(reviewer.id, now).length >= maxHeld) return undefined;
    const eligible =
      !!item &&
      item.status === 'pending' &&
      !overdue(item, now) &&
      (item.kind ?? 'approval') === 'approval' &&
      mayWorkItem(item, reviewer) &&
      !isProposerOf(reviewer, item) &&
      !item.approvedBy?.includes(reviewer.id) &&
      !item.authoredBy?.includes(reviewer.id) &&
      !item.escalatedClaimants?.includes(reviewer.id) &&
      (!claimHolds(item.claim, now) || item.claim.by === reviewer.id);
    if (!item || !eligible) return undefined;
    item.claim = { ...claim };
    return structuredClone(item);
  }

  async claimsHeldBy(by: string, now: Date) {
    return this.heldBy(by, now);
  }

  private heldBy(by: string, now: Date): string[] {
    return [...this.items.values()]
      .filter((i) => i.status === 'pending' && claimHolds(i.claim, now) && i.claim.by === by)
      .map((i) => i.actionId)
      .sort();
  }

  async releaseClaim(actionId: string, by: string) {
    const item = this.items.get(actionId);
    if (item?.claim?.by !== by) return false;
    delete item.claim;
    return true;
  }

  async approvals(actionId: string): Promise<Approval[]> {
    return [...(this.approvalsOf.get(actionId) ?? [])].map(([approver, a]) => ({
      approver,
      reason: a.reason,
      approvedAt: a.approvedAt,
      authMethod: a.authMethod ?? UNKNOWN_AUTH_METHOD,
      ...(a.amr && { amr: [...a.amr] }),
    }));
  }

  async recentDecisions(of: RecentDecisionsOf, exceptActionId: string, limit: number) {
    const same = (i: ReviewItem) =>
      i.proposal.tenant === of.tenant && ('target' in of ? i.proposal.target === of.target : i.proposal.proposer.agentId === of.agentId);
    return [...this.items.values()]
      .filter((i) => (i.kind ?? 'approval') === 'approval' && i.decidedAt && i.actionId !== exceptActionId && same(i))
      .sort((a, b) => Date.parse(b.decidedAt!) - Date.parse(a.decidedAt!) || (a.actionId < b.actionId ? -1 : a.actionId > b.actionId ? 1 : 0))
      .slice(0, limit)
      .map((i) => structuredClone(i));
  }

  async leftSince(since: Date, limit: number): Promise<LeftItem[]> {
    return [...this.items.values()]
      .filter((i) => i.status !== 'pending' && i.decidedAt && Date.parse(i.decidedAt) >= since.getTime())
      .sort((a, b) => Date.parse(b.decidedAt!) - Date.parse(a.decidedAt!) || (a.actionId < b.actionId ? -1 : a.actionId > b.actionId ? 1 : 0))
      .slice(0, limit)
      .map((i) => ({
        actionId: i.actionId,
        status: i.status,
        requiredRoles: [...i.requiredRoles],
        decidedAt: i.decidedAt!,
        proposal: { tenant: i.proposal.tenant },
      }));
  }

  async claimDue(now: Date, limit: number, stepFor: (item: ReviewItem) => ClockStep | undefined): Promise<ClockClaim[]> {
    // No await from the choice to the last write: two claimers in one process take turns, as two instances do on
    // PostgreSQL's row locks, and a decision racing a step finds the item as the step left it.
    const nextTick = (i: ReviewItem) => Math.min(Date.parse(i.dueAt), i.escalateAt ? Date.parse(i.escalateAt) : Infinity);
    const due = [...this.items.values()]
      .filter((i) => i.status === 'pending' && (i.kind ?? 'approval') === 'approval' && nextTick(i) <= now.getTime())
      .sort((a, b) => nextTick(a) - nextTick(b) || (a.actionId < b.actionId ? -1 : a.actionId > b.actionId ? 1 : 0))
      .slice(0, limit);
    const claims: ClockClaim[] = [];
    for (const item of due) {
      const step = stepFor(structuredClone(item));
      if (!step) continue;
      const at = now.toISOString();
      const clockStep = (item.clockStep ?? 0) + 1;
      if (step.kind === 'expire') {
        Object.assign(item, { status: 'expired', deciders: step.by, decisionReason: step.reason, decidedAt: at, clockStep });
        this.events.set(item.actionId, structuredClone({ ...step.event, actionId: item.actionId, decidedAt: at }));
      } else {
        // The next tier is not kept out by the last one's claim (as the PostgreSQL store's step), and its holder does
        // not take it back.
        if (claimHolds(item.claim, now) && !item.escalatedClaimants?.includes(item.claim.by)) {
          item.escalatedClaimants = [...(item.escalatedClaimants ?? []), item.claim.by];
        }
        delete item.escalateAt;
        delete item.claim;
        Object.assign(
          item,
          { requiredRoles: step.requiredRoles, clockStep },
          step.kind === 'escalate' ? { escalatedAt: at } : { dueAt: step.dueAt, reroutedAt: at },
        );
        this.clockEvents.set(step.event.event.id, structuredClone({ ...step.event, actionId: item.actionId, createdAt: at }));
      }
      claims.push({ step: step.kind, item: structuredClone(item), event: structuredClone(step.event) });
    }
    return claims;
  }

  async unpublishedClockEvents(createdBefore: Date, limit: number) {
    return [...this.clockEvents.values()]
      .filter((e) => !e.publishedAt && Date.parse(e.createdAt) <= createdBefore.getTime())
      .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.event.id < b.event.id ? -1 : 1))
      .slice(0, limit)
      .map((e) => structuredClone(e));
  }

  async markClockEventPublished(eventId: string, at: Date) {
    const stored = this.clockEvents.get(eventId);
    if (stored && !stored.publishedAt) stored.publishedAt = at.toISOString();
  }
}

/** The review items in process, for the embedded host and tests. */
export const createInMemoryReviewItemRepository = (): ReviewItemRepository => new InMemoryReviewItemRepository();
