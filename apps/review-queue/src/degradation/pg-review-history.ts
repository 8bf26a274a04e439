import type { Pool } from 'pg';
import type { BacklogItem } from './backlog-gauges';
import type { ReviewHistory } from './review-history';
import type { DecidedCounts } from './slo';

/** The backlog and the decided items, read from the review items table (`apps/review-queue/migrations`). */
export class PgReviewHistory implements ReviewHistory {
  constructor(private readonly pool: Pool) {}

  async pendingItems(): Promise<BacklogItem[]> {
    // The partial index on pending items serves the status filter; no proposal is read. Canaries (ADR 0018) count in
    // the backlog as the reviewers see it: `GET /v1/reviews` lists them, so a depth or age that left them out told
    // them apart to anyone watching the dashboard (red team, 2026-12-05). They stay out of the SLOs (`decidedSince`).
    const { rows } = await this.pool.query<{ action_id: string; sla_class: string; required_roles: string[]; created_at: Date; due_at: Date }>(
      // A re-routed item is aged from its re-route, as a share of its own window, as the gauges count it (backlog-tracking.ts).
      `SELECT action_id, sla_class, required_roles, COALESCE(rerouted_at, created_at) AS created_at, due_at FROM review_items
       WHERE status = 'pending' AND kind = 'approval'`,
    );
    return rows.map((r) => ({
      actionId: r.action_id,
      slaClass: r.sla_class,
      requiredRoles: r.required_roles,
      createdAt: r.created_at.getTime(),
      windowSeconds: (r.due_at.getTime() - r.created_at.getTime()) / 1000,
    }));
  }

  /**
   * Canaries left out: a lead's SLO counts real actions only, and a canary's retirement at its due time is no miss. So
   * are the queue's own decisions (an item refused at once because its proposer's or tenant's share was full): no
   * reviewer made them, and counted as on time they hid reviewers' misses (overload probe, 2026-12-06: an agent sending
   * past its cap added 316 "on-time decisions" before anyone had decided anything). An expiry is the clock's, and a miss.
   * A version revised by approve with changes is not decided: its new version is, and the action counts once (auditor
   * probe, 2026-12-07: each revision counted as one more decision, on time).
   */
  async decidedSince(since: Date): Promise<DecidedCounts[]> {
    const { rows } = await this.pool.query<{ sla_class: string; decided: number; late: number }>(
      `SELECT sla_class, count(*)::int AS decided, (count(*) FILTER (WHERE status = 'expired' OR decided_at > due_at))::int AS late
       FROM review_items WHERE kind = 'approval' AND status NOT IN ('pending', 'revised') AND decided_at > $1
         AND NOT (status <> 'expired' AND deciders = ARRAY[$2]::text[])
         AND NOT EXISTS (SELECT 1 FROM canaries c WHERE c.action_id = review_items.action_id) GROUP BY sla_class ORDER BY sla_class`,
      [since, QUEUE_DECIDER],
    );
    return rows.map((r) => ({ slaClass: r.sla_class, decided: r.decided, late: r.late }));
  }
}

/** Who the queue's own decisions name (`serviceActor('review-queue')`: the proposer's and tenant's caps). */
const QUEUE_DECIDER = 'review-queue';

/** What the controller reads from PostgreSQL; `main.ts` and the embedded host pick it. */
export const createReviewHistory = (pool: Pool): ReviewHistory => new PgReviewHistory(pool);
