import { ReviewItem, ReviewItemRepository, ReviewStatus } from './review-item.repository';

/** The in-process twin of the Redis review items (embedded mode, unit tests); passes the same suite. */
export class InMemoryReviewItemRepository implements ReviewItemRepository {
  private readonly items = new Map<string, ReviewItem>();
  private readonly approvals = new Map<string, Map<string, string>>();

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
      .sort((a, b) => a.dueAt.localeCompare(b.dueAt))
      .slice(0, limit)
      .map((i) => structuredClone(i));
  }

  async decide(actionId: string, status: Exclude<ReviewStatus, 'pending'>, by: string[], reason: string, at: Date) {
    const item = this.items.get(actionId);
    if (!item || item.status !== 'pending') return undefined;
    Object.assign(item, { status, deciders: by, decisionReason: reason, decidedAt: at.toISOString() });
    return structuredClone(item);
  }

  async addApproval(actionId: string, approver: string, reason: string) {
    const byApprover = this.approvals.get(actionId) ?? new Map<string, string>();
    if (!byApprover.has(approver)) byApprover.set(approver, reason);
    this.approvals.set(actionId, byApprover);
    return [...byApprover].map(([a, r]) => ({ approver: a, reason: r }));
  }
}

/** The review items in process, for the embedded host and tests. */
export const createInMemoryReviewItemRepository = (): ReviewItemRepository => new InMemoryReviewItemRepository();
