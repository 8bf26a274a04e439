import { BASE_CLAIM_MS, ChangeDecision, ChangeRequest, ChangeRequestStore, DecideResult } from './change-request';

/** The in-process twin of the PostgreSQL change-request store (embedded mode, unit tests). */
export class InMemoryChangeRequestStore implements ChangeRequestStore {
  private readonly requests = new Map<string, ChangeRequest>();
  private readonly claims = new Map<string, { holder: string; until: number }>();

  constructor(private readonly baseClaimMs = BASE_CLAIM_MS) {}

  async create(request: ChangeRequest): Promise<void> {
    if (this.requests.has(request.id)) throw new Error(`change request ${request.id} exists already`);
    this.requests.set(request.id, structuredClone(request));
  }

  async get(id: string) {
    const r = this.requests.get(id);
    return r && structuredClone(r);
  }

  async list(limit: number) {
    return [...this.requests.values()]
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async pendingCount(base: string, requester: string, now: Date) {
    const pending = [...this.requests.values()].filter((r) => r.base === base && r.status === 'pending' && now.getTime() < Date.parse(r.expiresAt));
    return { total: pending.length, byRequester: pending.filter((r) => r.requestedBy.id === requester).length };
  }

  async decide(id: string, d: ChangeDecision): Promise<DecideResult> {
    const r = this.requests.get(id);
    if (!r) return { ok: false, conflict: 'unknown' };
    if (r.status !== 'pending') return { ok: false, conflict: 'not-pending' };
    if (d.at.getTime() >= Date.parse(r.expiresAt)) return { ok: false, conflict: 'expired' };
    if (d.outcome === 'approved') {
      const claim = this.claims.get(r.base);
      if (claim && claim.holder !== id && claim.until > d.at.getTime()) return { ok: false, conflict: 'base-taken', holder: claim.holder };
      this.claims.set(r.base, { holder: id, until: d.at.getTime() + this.baseClaimMs });
    }
    Object.assign(r, { status: d.outcome, decider: d.by, decisionReason: d.reason, decidedAt: d.at.toISOString() });
    return { ok: true, request: structuredClone(r) };
  }
}

/** Change requests in process: the embedded mode's. */
export const createInMemoryChangeRequestStore = (baseClaimMs?: number): ChangeRequestStore => new InMemoryChangeRequestStore(baseClaimMs);
