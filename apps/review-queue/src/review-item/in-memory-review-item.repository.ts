import { DecisionEvent, ReviewItem, ReviewItemRepository, ReviewStatus, StoredDecisionEvent } from './review-item.repository';

/** The in-process twin of the PostgreSQL review items (embedded mode, unit tests); passes the same suite. */
export class InMemoryReviewItemRepository implements ReviewItemRepository {
  private readonly items = new Map<string, ReviewItem>();
  private readonly approvals = new Map<string, Map<string, string>>();
  private readonly events = new Map<string, StoredDecisionEvent>();

  async add(item: ReviewItem): Promise<boolean> {
    if (this.items.has(item.actionId)) return false;
    this.items.set(item.actionId, structuredClone(item));
    return true;
  }

  async get(actionId: string) {
    const item = this.items.get(actionId);
    return item && structuredClone(item);
  }

  async pending(limit: number) {
    return [...this.items.values()]
      .filter((i) => i.status === 'pending')
      .sort((a, b) => Date.parse(a.dueAt) - Date.parse(b.dueAt) || (a.actionId < b.actionId ? -1 : a.actionId > b.actionId ? 1 : 0))
      .slice(0, limit)
      .map((i) => structuredClone(i));
  }

  async decide(actionId: string, status: Exclude<ReviewStatus, 'pending'>, by: string[], reason: string, at: Date, event?: DecisionEvent) {
    const item = this.items.get(actionId);
    if (!item || item.status !== 'pending') return undefined;
    Object.assign(item, { status, deciders: by, decisionReason: reason, decidedAt: at.toISOString() });
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

  async addApproval(actionId: string, approver: string, reason: string) {
    if (!this.items.has(actionId)) return [];
    const byApprover = this.approvals.get(actionId) ?? new Map<string, string>();
    if (!byApprover.has(approver)) byApprover.set(approver, reason);
    this.approvals.set(actionId, byApprover);
    return [...byApprover].map(([a, r]) => ({ approver: a, reason: r }));
  }
}

/** The review items in process, for the embedded host and tests. */
export const createInMemoryReviewItemRepository = (): ReviewItemRepository => new InMemoryReviewItemRepository();
