import { holdsItemRole } from '../review-item/item-roles';
import type {
  CanaryRecord,
  DecisionQualityStore,
  DecisionSummary,
  Lane,
  LaneCounts,
  OperatorOverride,
  QueueSample,
  ReviewerDecision,
  SecondReview,
  SecondShown,
  SignIn,
} from './decision-quality.store';
import { summarize } from './statistics';

/** The in-memory twin of the decision-quality store (tests): the same behaviour as PostgreSQL, kept in maps. */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** The start of `at`'s hour (ms, UTC). */
const hourOf = (at: Date) => Math.floor(at.getTime() / 3600_000) * 3600_000;

/** As PostgreSQL orders decisions: by time, then action id, then reviewer. */
const byDecisionTime = (a: ReviewerDecision, b: ReviewerDecision) =>
  Date.parse(a.decidedAt) - Date.parse(b.decidedAt) || byText(a.actionId, b.actionId) || byText(a.reviewer, b.reviewer);

export class InMemoryDecisionQualityStore implements DecisionQualityStore {
  private readonly views = new Map<string, Date>();
  private readonly decisions = new Map<string, ReviewerDecision>();
  private readonly canaries = new Map<string, CanaryRecord>();
  private readonly seconds = new Map<string, SecondReview>();
  private samples: QueueSample[] = [];
  private readonly lanes = new Map<string, { lane: Lane; at: Date }>();
  /** The counts per hour (ms) and lane, kept as lanes are recorded, as the database keeps them (`lane_hours`). */
  private readonly laneHours = new Map<number, LaneCounts>();
  private readonly overrides = new Map<string, OperatorOverride>();

  async cardShown(actionId: string, reviewer: string, at: Date): Promise<void> {
    const key = `${actionId}\u0000${reviewer}`;
    if (!this.views.has(key)) this.views.set(key, at);
  }

  async firstShown(actionId: string, reviewer: string): Promise<Date | undefined> {
    return this.views.get(`${actionId}\u0000${reviewer}`);
  }

  async recordDecision(d: ReviewerDecision): Promise<boolean> {
    const key = `${d.actionId}\u0000${d.reviewer}`;
    if (this.decisions.has(key)) return false;
    const shown = this.views.get(key);
    const dwellMs = d.dwellMs ?? (shown && Math.max(0, Date.parse(d.decidedAt) - shown.getTime()));
    this.decisions.set(key, { ...d, ...(dwellMs !== undefined && { dwellMs }) });
    return true;
  }

  async decisionsSince(since: Date, limit: number): Promise<ReviewerDecision[]> {
    return [...this.decisions.values()]
      .filter((d) => Date.parse(d.decidedAt) >= since.getTime())
      .sort(byDecisionTime)
      .slice(-limit)
      .map((d) => ({ ...d }));
  }

  async decisionSummary(since: Date, limit: number, latencyEdgesMin: number[]): Promise<DecisionSummary> {
    const newest = await this.decisionsSince(since, limit);
    const open = await this.underSecondReview(newest.map((d) => d.actionId));
    return summarize(
      newest.filter((d) => !open.has(d.actionId)),
      latencyEdgesMin,
    );
  }

  async unauditedMisses(limit: number): Promise<ReviewerDecision[]> {
    return [...this.decisions.values()]
      .filter((d) => d.canary && d.decision === 'approved' && !d.missAuditedAt)
      .sort(byDecisionTime)
      .slice(0, limit)
      .map((d) => ({ ...d }));
  }

  async markMissAudited(actionId: string, reviewer: string, at: Date): Promise<void> {
    const d = this.decisions.get(`${actionId}\u0000${reviewer}`);
    if (d) d.missAuditedAt = at.toISOString();
  }

  async addCanary(c: CanaryRecord): Promise<void> {
    if (!this.canaries.has(c.actionId)) this.canaries.set(c.actionId, { ...c });
  }

  async canary(actionId: string): Promise<CanaryRecord | undefined> {
    const c = this.canaries.get(actionId);
    return c && { ...c };
  }

  async openCanaries(limit: number): Promise<CanaryRecord[]> {
    return [...this.canaries.values()]
      .filter((c) => !c.retiredAt)
      .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))
      .slice(0, limit)
      .map((c) => ({ ...c }));
  }

  async retireCanary(actionId: string, at: Date): Promise<void> {
    const c = this.canaries.get(actionId);
    if (c && !c.retiredAt) c.retiredAt = at.toISOString();
  }

  async addSecondReview(r: SecondReview): Promise<void> {
    if (!this.seconds.has(r.actionId)) this.seconds.set(r.actionId, { ...r });
  }

  async secondReview(actionId: string): Promise<SecondReview | undefined> {
    const r = this.seconds.get(actionId);
    return r && { ...r };
  }

  async underSecondReview(actionIds: string[]): Promise<Set<string>> {
    return new Set(actionIds.filter((id) => this.seconds.has(id) && !this.seconds.get(id)!.verdict));
  }

  async openInStories(correlationIds: string[]): Promise<SecondReview[]> {
    const stories = new Set(correlationIds);
    return [...this.seconds.values()].filter((r) => !r.verdict && r.correlationId !== undefined && stories.has(r.correlationId)).map((r) => ({ ...r }));
  }

  async openSecondReviews(reviewer: string, roles: string[], limit: number): Promise<SecondReview[]> {
    return [...this.seconds.values()]
      .filter((r) => !r.verdict && !r.excluded.includes(reviewer) && holdsItemRole(r, roles))
      .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))
      .slice(0, limit)
      .map((r) => ({ ...r }));
  }

  async decideSecondReview(
    actionId: string,
    reviewer: string,
    verdict: 'approved' | 'rejected',
    reason: string,
    at: Date,
    auth?: SignIn,
    shown?: SecondShown,
  ): Promise<boolean> {
    const r = this.seconds.get(actionId);
    if (!r || r.verdict || r.excluded.includes(reviewer)) return false;
    Object.assign(
      r,
      { reviewer, verdict, reason, decidedAt: at.toISOString() },
      auth && { reviewerAuth: structuredClone(auth) },
      shown && { shown: structuredClone(shown) },
    );
    return true;
  }

  async unauditedSecondVerdicts(limit: number): Promise<SecondReview[]> {
    return [...this.seconds.values()]
      .filter((r) => r.verdict && !r.verdictAuditedAt)
      .sort((a, b) => Date.parse(a.decidedAt!) - Date.parse(b.decidedAt!) || (a.actionId < b.actionId ? -1 : 1))
      .slice(0, limit)
      .map((r) => ({ ...r }));
  }

  async markSecondVerdictAudited(actionId: string, at: Date): Promise<void> {
    const r = this.seconds.get(actionId);
    if (r?.verdict && !r.verdictAuditedAt) r.verdictAuditedAt = at.toISOString();
  }

  async secondReviewsSince(since: Date, limit: number): Promise<SecondReview[]> {
    return [...this.seconds.values()]
      .filter((r) => r.decidedAt && Date.parse(r.decidedAt) >= since.getTime())
      .sort((a, b) => Date.parse(a.decidedAt!) - Date.parse(b.decidedAt!))
      .slice(0, limit)
      .map((r) => ({ ...r }));
  }

  async addQueueSamples(samples: QueueSample[]): Promise<void> {
    for (const s of samples) if (!this.samples.some((x) => x.sampledAt === s.sampledAt && x.slaClass === s.slaClass)) this.samples.push({ ...s });
  }

  async queueSamplesSince(since: Date): Promise<QueueSample[]> {
    return this.samples
      .filter((s) => Date.parse(s.sampledAt) >= since.getTime())
      .sort((a, b) => Date.parse(a.sampledAt) - Date.parse(b.sampledAt) || a.slaClass.localeCompare(b.slaClass))
      .map((s) => ({ ...s }));
  }

  async recordLane(eventId: string, lane: Lane, at: Date): Promise<void> {
    if (this.lanes.has(eventId)) return;
    this.lanes.set(eventId, { lane, at });
    const hour = hourOf(at);
    const c = this.laneHours.get(hour) ?? { hour: new Date(hour).toISOString(), autonomous: 0, review: 0, prohibited: 0 };
    c[lane]++;
    this.laneHours.set(hour, c);
  }

  async laneCountsSince(since: Date): Promise<LaneCounts[]> {
    return [...this.laneHours.entries()]
      .filter(([hour]) => hour >= hourOf(since))
      .sort((a, b) => a[0] - b[0])
      .map(([, c]) => ({ ...c }));
  }

  async recordOverride(o: OperatorOverride): Promise<void> {
    if (!this.overrides.has(o.eventId)) this.overrides.set(o.eventId, { ...o });
  }

  async overridesSince(since: Date): Promise<OperatorOverride[]> {
    return [...this.overrides.values()]
      .filter((o) => Date.parse(o.at) >= since.getTime())
      .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.eventId.localeCompare(b.eventId))
      .map((o) => ({ ...o }));
  }

  async purge(before: Date): Promise<void> {
    this.samples = this.samples.filter((s) => Date.parse(s.sampledAt) >= before.getTime());
    for (const [k, at] of this.views) if (at < before) this.views.delete(k);
    for (const [k, l] of this.lanes) if (l.at < before) this.lanes.delete(k);
    for (const hour of this.laneHours.keys()) if (hour < hourOf(before)) this.laneHours.delete(hour);
    for (const [k, o] of this.overrides) if (Date.parse(o.at) < before.getTime()) this.overrides.delete(k);
    const unauditedMiss = (d: ReviewerDecision) => d.canary && d.decision === 'approved' && !d.missAuditedAt;
    const missing = new Set([...this.decisions.values()].filter(unauditedMiss).map((d) => d.actionId));
    for (const [k, d] of this.decisions) if (Date.parse(d.decidedAt) < before.getTime() && !unauditedMiss(d)) this.decisions.delete(k);
    for (const [k, c] of this.canaries) if (c.retiredAt && Date.parse(c.retiredAt) < before.getTime() && !missing.has(k)) this.canaries.delete(k);
    for (const [k, r] of this.seconds) if (r.verdict && r.verdictAuditedAt && r.decidedAt && Date.parse(r.decidedAt) < before.getTime()) this.seconds.delete(k);
  }
}

/** The in-memory decision-quality store (tests); the mains use `createDecisionQualityStore(pool)`. */
export const createInMemoryDecisionQualityStore = (): DecisionQualityStore => new InMemoryDecisionQualityStore();
