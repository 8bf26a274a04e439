import type { Pool } from 'pg';
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
import { GroupCommit } from '@countersign/storage';
import { byReviewer, byReviewerAndClass } from './statistics';

type DecisionRow = {
  action_id: string;
  reviewer: string;
  decision: 'approved' | 'rejected';
  sla_class: string;
  decided_at: Date;
  queued_at: Date;
  dwell_ms: string | null;
  canary: boolean;
  miss_audited_at: Date | null;
};
type SummaryRow = {
  reviewers: Array<{ reviewer: string; decisions: number; approved: number; median: number | null; unseen: number }>;
  dwell: Array<{ reviewer: string; sla_class: string; median: number; n: number }>;
  canaries: Array<{ reviewer: string; caught: number; missed: number }>;
  canary_ids: string[];
  latency: Array<{ bucket: number; n: number }>;
  rejections: Record<string, number>;
};
type SecondRow = {
  action_id: string;
  correlation_id: string | null;
  sla_class: string;
  required_roles: string[];
  first_decision: 'approved' | 'rejected';
  excluded: string[];
  created_at: Date;
  reviewer: string | null;
  reviewer_auth_method: SignIn['authMethod'] | null;
  reviewer_amr: string[] | null;
  reviewer_auth_time: Date | null;
  verdict: 'approved' | 'rejected' | null;
  reason: string | null;
  decided_at: Date | null;
  verdict_audited_at: Date | null;
  shown: Record<string, unknown> | null;
  shown_echoed: boolean | null;
};

type LaneRecord = { eventId: string; lane: Lane; at: Date };

/** A reviewer decision that approved a canary, whose miss is not audited yet (`reviewer_decisions_unaudited` covers it). */
const UNAUDITED_MISS = `canary AND decision = 'approved' AND miss_audited_at IS NULL`;

const decisionOf = (r: DecisionRow): ReviewerDecision => ({
  actionId: r.action_id,
  reviewer: r.reviewer,
  decision: r.decision,
  slaClass: r.sla_class,
  decidedAt: r.decided_at.toISOString(),
  queuedAt: r.queued_at.toISOString(),
  ...(r.dwell_ms !== null && { dwellMs: Number(r.dwell_ms) }),
  canary: r.canary,
  ...(r.miss_audited_at && { missAuditedAt: r.miss_audited_at.toISOString() }),
});
const secondOf = (r: SecondRow): SecondReview => ({
  actionId: r.action_id,
  ...(r.correlation_id !== null && { correlationId: r.correlation_id }),
  slaClass: r.sla_class,
  requiredRoles: r.required_roles,
  firstDecision: r.first_decision,
  excluded: r.excluded,
  createdAt: r.created_at.toISOString(),
  ...(r.reviewer !== null && { reviewer: r.reviewer }),
  ...(r.reviewer_auth_method !== null && {
    reviewerAuth: {
      authMethod: r.reviewer_auth_method,
      ...(r.reviewer_amr !== null && { amr: r.reviewer_amr }),
      ...(r.reviewer_auth_time !== null && { authTime: r.reviewer_auth_time.getTime() }),
    },
  }),
  ...(r.verdict !== null && { verdict: r.verdict }),
  ...(r.reason !== null && { reason: r.reason }),
  ...(r.decided_at && { decidedAt: r.decided_at.toISOString() }),
  ...(r.verdict_audited_at && { verdictAuditedAt: r.verdict_audited_at.toISOString() }),
  ...(r.shown !== null && { shown: { view: r.shown, echoed: r.shown_echoed === true } }),
});

const viewKey = (actionId: string, reviewer: string) => `${actionId}\u0000${reviewer}`;

/**
 * Decision quality's records in PostgreSQL (`migrations/0005_decision-quality.sql`). What decisions write (the
 * reviewer's decision with its dwell, a second review sampled) goes in batches: one multi-row INSERT each, one commit
 * (docs/adr/0028); the decision's reads the card views in the same statement. Recording quality thus adds a statement
 * per batch of decisions, not two per decision.
 */
export class PgDecisionQualityStore implements DecisionQualityStore {
  private readonly decisions: GroupCommit<ReviewerDecision, boolean>;
  private readonly secondReviews: GroupCommit<SecondReview, void>;
  /** The lane of every policy decision, autonomous ones included: one statement and one commit per batch (issue 14). */
  private readonly lanes: GroupCommit<LaneRecord, void>;

  constructor(private readonly pool: Pool) {
    this.decisions = new GroupCommit(
      (batch) => this.writeDecisions(batch),
      (d) => viewKey(d.actionId, d.reviewer),
      { maxBatch: 256, maxInFlight: 2 },
    );
    this.secondReviews = new GroupCommit(
      (batch) => this.writeSecondReviews(batch),
      (r) => r.actionId,
      { maxBatch: 256, maxInFlight: 2 },
    );
    this.lanes = new GroupCommit(
      (batch) => this.writeLanes(batch),
      (l) => l.eventId,
      { maxBatch: 256, maxInFlight: 2 },
    );
  }

  async cardShown(actionId: string, reviewer: string, at: Date): Promise<void> {
    await this.pool.query(`INSERT INTO card_views (action_id, reviewer, first_shown_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [actionId, reviewer, at]);
  }

  async firstShown(actionId: string, reviewer: string): Promise<Date | undefined> {
    const { rows } = await this.pool.query<{ first_shown_at: Date }>(`SELECT first_shown_at FROM card_views WHERE action_id = $1 AND reviewer = $2`, [
      actionId,
      reviewer,
    ]);
    return rows[0]?.first_shown_at;
  }

  recordDecision(d: ReviewerDecision): Promise<boolean> {
    return this.decisions.submit(d);
  }

  /**
   * A batch of decisions in one statement and one commit, each with its dwell from its card view when not given; each
   * is true if it was new (a retry's copy is not).
   */
  private async writeDecisions(batch: ReviewerDecision[]): Promise<boolean[]> {
    const { rows } = await this.pool.query<{ action_id: string; reviewer: string }>(
      {
        name: 'decision-quality.record-decisions',
        text: `INSERT INTO reviewer_decisions (action_id, reviewer, decision, sla_class, decided_at, queued_at, dwell_ms, canary, miss_audited_at)
       SELECT d.action_id, d.reviewer, d.decision, d.sla_class, d.decided_at, d.queued_at,
         coalesce(d.dwell_ms, CASE WHEN v.first_shown_at IS NOT NULL THEN greatest(0, round(extract(epoch FROM d.decided_at - v.first_shown_at) * 1000))::bigint END), d.canary, d.miss_audited_at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::bigint[], $8::boolean[], $9::timestamptz[])
         AS d(action_id, reviewer, decision, sla_class, decided_at, queued_at, dwell_ms, canary, miss_audited_at)
       LEFT JOIN card_views v ON v.action_id = d.action_id AND v.reviewer = d.reviewer
       ON CONFLICT DO NOTHING RETURNING action_id, reviewer`,
      },
      [
        batch.map((d) => d.actionId),
        batch.map((d) => d.reviewer),
        batch.map((d) => d.decision),
        batch.map((d) => d.slaClass),
        batch.map((d) => d.decidedAt),
        batch.map((d) => d.queuedAt),
        batch.map((d) => d.dwellMs ?? null),
        batch.map((d) => d.canary),
        batch.map((d) => d.missAuditedAt ?? null),
      ],
    );
    const added = new Set(rows.map((r) => viewKey(r.action_id, r.reviewer)));
    return batch.map((d) => added.has(viewKey(d.actionId, d.reviewer)));
  }

  async decisionsSince(since: Date, limit: number): Promise<ReviewerDecision[]> {
    const { rows } = await this.pool.query<DecisionRow>(
      // The newest `limit`, given oldest first: past the limit, the page had shown the oldest and left out the newest.
      `SELECT * FROM (SELECT * FROM reviewer_decisions WHERE decided_at >= $1 ORDER BY decided_at DESC, action_id DESC, reviewer DESC LIMIT $2) d
        ORDER BY decided_at, action_id, reviewer`,
      [since, limit],
    );
    return rows.map(decisionOf);
  }

  async decisionSummary(since: Date, limit: number, latencyEdgesMin: number[]): Promise<DecisionSummary> {
    // The same decisions `decisionsSince` reads, but those under a blind second review still open, summed up where they
    // are: one row of a few small lists comes back, not the decisions. Times in whole milliseconds, as a decision read out has them. The attended dwell (`withAttention`):
    // bounded by the time since the same reviewer's decision before it, canaries included, in the order read out.
    const { rows } = await this.pool.query<SummaryRow>(
      `WITH newest AS (
         SELECT * FROM reviewer_decisions WHERE decided_at >= $1 ORDER BY decided_at DESC, action_id DESC, reviewer DESC LIMIT $2
       ), d AS (
         SELECT * FROM newest WHERE NOT EXISTS (SELECT 1 FROM second_reviews s WHERE s.action_id = newest.action_id AND s.verdict IS NULL)
       ), t AS (
         SELECT d.*, floor(extract(epoch FROM decided_at) * 1000) AS at_ms, floor(extract(epoch FROM queued_at) * 1000) AS queued_ms,
                lag(floor(extract(epoch FROM decided_at) * 1000)) OVER (PARTITION BY reviewer ORDER BY decided_at, action_id) AS prev_ms
           FROM d
       ), a AS (
         SELECT t.*, CASE WHEN dwell_ms IS NULL THEN NULL WHEN prev_ms IS NULL OR at_ms - prev_ms >= dwell_ms THEN dwell_ms
                          ELSE at_ms - prev_ms END::float8 AS attended
           FROM t
       )
       SELECT
         (SELECT coalesce(json_agg(x), '[]') FROM (
            SELECT reviewer, count(*) AS decisions, count(*) FILTER (WHERE decision = 'approved') AS approved,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY attended) AS median, count(*) FILTER (WHERE dwell_ms IS NULL) AS unseen
              FROM a WHERE NOT canary GROUP BY reviewer) x) AS reviewers,
         (SELECT coalesce(json_agg(x), '[]') FROM (
            SELECT reviewer, sla_class, percentile_cont(0.5) WITHIN GROUP (ORDER BY attended) AS median, count(*) AS n
              FROM a WHERE attended IS NOT NULL GROUP BY reviewer, sla_class) x) AS dwell,
         (SELECT coalesce(json_agg(x), '[]') FROM (
            SELECT reviewer, count(*) FILTER (WHERE decision <> 'approved') AS caught, count(*) FILTER (WHERE decision = 'approved') AS missed
              FROM a WHERE canary GROUP BY reviewer) x) AS canaries,
         (SELECT coalesce(json_agg(action_id), '[]') FROM a WHERE canary) AS canary_ids,
         (SELECT coalesce(json_agg(x), '[]') FROM (
            SELECT (SELECT count(*) FROM unnest($3::float8[]) e WHERE e * 60000 < at_ms - queued_ms) AS bucket, count(*) AS n
              FROM a WHERE NOT canary GROUP BY 1) x) AS latency,
         (SELECT coalesce(json_object_agg(day, n), '{}') FROM (
            SELECT to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS n
              FROM a WHERE NOT canary AND decision = 'rejected' GROUP BY 1) x) AS rejections`,
      [since, limit, latencyEdgesMin],
    );
    const r = rows[0];
    const latency = new Array<number>(latencyEdgesMin.length + 1).fill(0);
    for (const b of r.latency) latency[b.bucket] = b.n;
    return {
      reviewers: r.reviewers
        .map((x) => ({
          reviewer: x.reviewer,
          decisions: x.decisions,
          approvalRate: x.approved / x.decisions,
          medianDwellMs: x.median ?? NaN,
          unseen: x.unseen,
        }))
        .sort(byReviewer),
      dwell: r.dwell.map((x) => ({ reviewer: x.reviewer, slaClass: x.sla_class, medianDwellMs: x.median, n: x.n })).sort(byReviewerAndClass),
      canaries: r.canaries.sort(byReviewer),
      canaryIds: r.canary_ids.sort(),
      latency,
      rejectionsByDay: r.rejections,
    };
  }

  async unauditedMisses(limit: number): Promise<ReviewerDecision[]> {
    const { rows } = await this.pool.query<DecisionRow>(`SELECT * FROM reviewer_decisions WHERE ${UNAUDITED_MISS} ORDER BY decided_at LIMIT $1`, [limit]);
    return rows.map(decisionOf);
  }

  async markMissAudited(actionId: string, reviewer: string, at: Date): Promise<void> {
    await this.pool.query(`UPDATE reviewer_decisions SET miss_audited_at = $3 WHERE action_id = $1 AND reviewer = $2 AND miss_audited_at IS NULL`, [
      actionId,
      reviewer,
      at,
    ]);
  }

  async addCanary(c: CanaryRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO canaries (action_id, template, action_type, sla_class, created_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [c.actionId, c.template, c.actionType, c.slaClass, c.createdAt, c.retiredAt ?? null],
    );
  }

  async openCanaries(limit: number): Promise<CanaryRecord[]> {
    const { rows } = await this.pool.query<{ action_id: string }>(`SELECT action_id FROM canaries WHERE retired_at IS NULL ORDER BY created_at LIMIT $1`, [
      limit,
    ]);
    const found = await Promise.all(rows.map((r) => this.canary(r.action_id)));
    return found.filter((c): c is CanaryRecord => !!c);
  }

  async canary(actionId: string): Promise<CanaryRecord | undefined> {
    const { rows } = await this.pool.query<{
      action_id: string;
      template: string;
      action_type: string;
      sla_class: string;
      created_at: Date;
      retired_at: Date | null;
    }>(`SELECT * FROM canaries WHERE action_id = $1`, [actionId]);
    const r = rows[0];
    return (
      r && {
        actionId: r.action_id,
        template: r.template,
        actionType: r.action_type,
        slaClass: r.sla_class,
        createdAt: r.created_at.toISOString(),
        ...(r.retired_at && { retiredAt: r.retired_at.toISOString() }),
      }
    );
  }

  async retireCanary(actionId: string, at: Date): Promise<void> {
    await this.pool.query(`UPDATE canaries SET retired_at = $2 WHERE action_id = $1 AND retired_at IS NULL`, [actionId, at]);
  }

  addSecondReview(r: SecondReview): Promise<void> {
    return this.secondReviews.submit(r);
  }

  /** A batch of sampled second reviews in one statement and one commit. */
  private async writeSecondReviews(batch: SecondReview[]): Promise<void[]> {
    const input = batch.map((r) => ({
      action_id: r.actionId,
      correlation_id: r.correlationId ?? null,
      sla_class: r.slaClass,
      required_roles: r.requiredRoles,
      first_decision: r.firstDecision,
      excluded: r.excluded,
      created_at: r.createdAt,
    }));
    await this.pool.query(
      {
        name: 'decision-quality.add-second-reviews',
        text: `INSERT INTO second_reviews (action_id, correlation_id, sla_class, required_roles, first_decision, excluded, created_at)
       SELECT * FROM jsonb_to_recordset($1::jsonb)
         AS r(action_id text, correlation_id text, sla_class text, required_roles text[], first_decision text, excluded text[], created_at timestamptz)
       ON CONFLICT DO NOTHING`,
      },
      [JSON.stringify(input)],
    );
    return batch.map(() => undefined);
  }

  async secondReview(actionId: string): Promise<SecondReview | undefined> {
    const { rows } = await this.pool.query<SecondRow>(`SELECT * FROM second_reviews WHERE action_id = $1`, [actionId]);
    return rows[0] && secondOf(rows[0]);
  }

  async underSecondReview(actionIds: string[]): Promise<Set<string>> {
    if (!actionIds.length) return new Set();
    const { rows } = await this.pool.query<{ action_id: string }>(
      `SELECT action_id FROM second_reviews WHERE action_id = ANY($1::text[]) AND verdict IS NULL`,
      [actionIds],
    );
    return new Set(rows.map((r) => r.action_id));
  }

  async openInStories(correlationIds: string[]): Promise<SecondReview[]> {
    if (!correlationIds.length) return [];
    const { rows } = await this.pool.query<SecondRow>(`SELECT * FROM second_reviews WHERE correlation_id = ANY($1::text[]) AND verdict IS NULL`, [
      correlationIds,
    ]);
    return rows.map(secondOf);
  }

  async openSecondReviews(reviewer: string, roles: string[], limit: number): Promise<SecondReview[]> {
    const { rows } = await this.pool.query<SecondRow>(
      `SELECT * FROM second_reviews WHERE verdict IS NULL AND NOT ($1 = ANY(excluded))
         AND (cardinality(required_roles) = 0 OR required_roles && $2::text[]) ORDER BY created_at, action_id LIMIT $3`,
      [reviewer, roles, limit],
    );
    return rows.map(secondOf);
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
    // One statement: of two second reviewers at once, the row lock lets one set the verdict and the other finds it set.
    const { rowCount } = await this.pool.query(
      `UPDATE second_reviews SET reviewer = $2, verdict = $3, reason = $4, decided_at = $5,
         reviewer_auth_method = $6, reviewer_amr = $7, reviewer_auth_time = $8, shown = $9, shown_echoed = $10
       WHERE action_id = $1 AND verdict IS NULL AND NOT ($2 = ANY(excluded))`,
      [
        actionId,
        reviewer,
        verdict,
        reason,
        at,
        auth?.authMethod ?? null,
        auth?.amr ?? null,
        auth?.authTime !== undefined ? new Date(auth.authTime) : null,
        shown ? JSON.stringify(shown.view) : null,
        shown?.echoed ?? null,
      ],
    );
    return rowCount === 1;
  }

  async unauditedSecondVerdicts(limit: number): Promise<SecondReview[]> {
    // Served by the partial index second_reviews_unaudited.
    const { rows } = await this.pool.query<SecondRow>(
      `SELECT * FROM second_reviews WHERE verdict IS NOT NULL AND verdict_audited_at IS NULL ORDER BY decided_at, action_id LIMIT $1`,
      [limit],
    );
    return rows.map(secondOf);
  }

  async markSecondVerdictAudited(actionId: string, at: Date): Promise<void> {
    await this.pool.query(`UPDATE second_reviews SET verdict_audited_at = $2 WHERE action_id = $1 AND verdict IS NOT NULL AND verdict_audited_at IS NULL`, [
      actionId,
      at,
    ]);
  }

  async secondReviewsSince(since: Date, limit: number): Promise<SecondReview[]> {
    const { rows } = await this.pool.query<SecondRow>(`SELECT * FROM second_reviews WHERE decided_at >= $1 ORDER BY decided_at, action_id LIMIT $2`, [
      since,
      limit,
    ]);
    return rows.map(secondOf);
  }

  async addQueueSamples(samples: QueueSample[]): Promise<void> {
    if (!samples.length) return;
    await this.pool.query(
      `INSERT INTO queue_samples (sampled_at, sla_class, depth, oldest_age_ms)
       SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::int[], $4::bigint[]) ON CONFLICT DO NOTHING`,
      [samples.map((s) => s.sampledAt), samples.map((s) => s.slaClass), samples.map((s) => s.depth), samples.map((s) => s.oldestAgeMs ?? null)],
    );
  }

  async queueSamplesSince(since: Date): Promise<QueueSample[]> {
    const { rows } = await this.pool.query<{ sampled_at: Date; sla_class: string; depth: number; oldest_age_ms: string | null }>(
      `SELECT * FROM queue_samples WHERE sampled_at >= $1 ORDER BY sampled_at, sla_class`,
      [since],
    );
    return rows.map((r) => ({
      sampledAt: r.sampled_at.toISOString(),
      slaClass: r.sla_class,
      depth: r.depth,
      ...(r.oldest_age_ms !== null && { oldestAgeMs: Number(r.oldest_age_ms) }),
    }));
  }

  async recordLane(eventId: string, lane: Lane, at: Date): Promise<void> {
    await this.lanes.submit({ eventId, lane, at });
  }

  /** A batch of policy decisions' lanes in one statement and one commit; a redelivered one counts once. */
  private async writeLanes(batch: LaneRecord[]): Promise<void[]> {
    await this.pool.query({
      name: 'decision-quality.record-lanes',
      // The hour's counts grow by the rows this batch adds (a redelivered event adds none), in one order of keys, so that
      // two batches upserting the same hours wait for each other rather than deadlock.
      text: `WITH added AS (
               INSERT INTO lane_decisions (event_id, lane, decided_at)
               SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) ON CONFLICT DO NOTHING RETURNING lane, decided_at
             )
             INSERT INTO lane_hours (hour, lane, decisions)
             SELECT date_trunc('hour', decided_at, 'UTC'), lane, count(*) FROM added GROUP BY 1, 2 ORDER BY 1, 2
             ON CONFLICT (hour, lane) DO UPDATE SET decisions = lane_hours.decisions + excluded.decisions`,
      values: [batch.map((l) => l.eventId), batch.map((l) => l.lane), batch.map((l) => l.at)],
    });
    return batch.map(() => undefined);
  }

  async laneCountsSince(since: Date): Promise<LaneCounts[]> {
    const { rows } = await this.pool.query<{ hour: Date; autonomous: string; review: string; prohibited: string }>(
      `SELECT hour,
              coalesce(sum(decisions) FILTER (WHERE lane = 'autonomous'), 0) AS autonomous,
              coalesce(sum(decisions) FILTER (WHERE lane = 'review'), 0) AS review,
              coalesce(sum(decisions) FILTER (WHERE lane = 'prohibited'), 0) AS prohibited
         FROM lane_hours WHERE hour >= date_trunc('hour', $1::timestamptz, 'UTC') GROUP BY 1 ORDER BY 1`,
      [since],
    );
    return rows.map((r) => ({ hour: r.hour.toISOString(), autonomous: Number(r.autonomous), review: Number(r.review), prohibited: Number(r.prohibited) }));
  }

  async recordOverride(o: OperatorOverride): Promise<void> {
    await this.pool.query(`INSERT INTO operator_overrides (event_id, kind, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [o.eventId, o.kind, o.at]);
  }

  async overridesSince(since: Date): Promise<OperatorOverride[]> {
    const { rows } = await this.pool.query<{ event_id: string; kind: OperatorOverride['kind']; at: Date }>(
      `SELECT * FROM operator_overrides WHERE at >= $1 ORDER BY at, event_id`,
      [since],
    );
    return rows.map((r) => ({ eventId: r.event_id, kind: r.kind, at: r.at.toISOString() }));
  }

  async purge(before: Date): Promise<void> {
    await this.pool.query(`DELETE FROM queue_samples WHERE sampled_at < $1`, [before]);
    await this.pool.query(`DELETE FROM card_views WHERE first_shown_at < $1`, [before]);
    await this.pool.query(`DELETE FROM lane_decisions WHERE decided_at < $1`, [before]);
    await this.pool.query(`DELETE FROM lane_hours WHERE hour < date_trunc('hour', $1::timestamptz, 'UTC')`, [before]);
    await this.pool.query(`DELETE FROM operator_overrides WHERE at < $1`, [before]);
    // A canary's approval stays until its miss is audited, and so does the canary (the audit event names its template).
    await this.pool.query(`DELETE FROM reviewer_decisions WHERE decided_at < $1 AND NOT (${UNAUDITED_MISS})`, [before]);
    await this.pool.query(
      `DELETE FROM canaries c WHERE retired_at < $1
         AND NOT EXISTS (SELECT 1 FROM reviewer_decisions d WHERE d.action_id = c.action_id AND ${UNAUDITED_MISS})`,
      [before],
    );
    // An open second review stays, however old: its item stays withheld until the verdict is in.
    await this.pool.query(`DELETE FROM second_reviews WHERE decided_at < $1 AND verdict IS NOT NULL AND verdict_audited_at IS NOT NULL`, [before]);
  }
}

/** Decision quality's records in PostgreSQL (or PGlite, embedded): both mains pick this one. */
export const createDecisionQualityStore = (pool: Pool): DecisionQualityStore => new PgDecisionQualityStore(pool);
