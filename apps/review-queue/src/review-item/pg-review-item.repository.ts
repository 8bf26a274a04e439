import type { Pool } from 'pg';
import type { AnyTopic, Proposal, TopicMap } from '@countersign/contracts';
import { DecisionEvent, ReviewItem, ReviewItemRepository, ReviewStatus, StoredDecisionEvent } from './review-item.repository';

/**
 * The review items in PostgreSQL, the records of truth of a distributed review queue: a Redis flush or restart
 * loses none. The tables come from `apps/review-queue/migrations`, applied at boot by `main.ts`.
 */
export class PgReviewItemRepository implements ReviewItemRepository {
  constructor(private readonly pool: Pool) {}

  async add(item: ReviewItem): Promise<boolean> {
    // A redelivered decision finds its item there: ON CONFLICT keeps the first one, untouched.
    const { rowCount } = await this.pool.query(
      `INSERT INTO review_items (action_id, kind, correlation_id, decision_event_id, digest, proposal, sealed, proposer_principal,
         contract_version, reasons, sla_class, required_roles, quorum, created_at, due_at, status, deciders, decision_reason, decided_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
       ON CONFLICT (action_id) DO NOTHING`,
      [
        item.actionId,
        item.kind ?? 'approval',
        item.correlationId,
        item.decisionEventId,
        item.digest,
        JSON.stringify(item.proposal),
        item.sealed ?? null,
        item.proposerPrincipal,
        item.contractVersion,
        item.reasons,
        item.slaClass,
        item.requiredRoles,
        item.quorum,
        item.createdAt,
        item.dueAt,
        item.status,
        item.deciders ?? null,
        item.decisionReason ?? null,
        item.decidedAt ?? null,
      ],
    );
    return rowCount === 1;
  }

  async get(actionId: string): Promise<ReviewItem | undefined> {
    const { rows } = await this.pool.query<ItemRow>('SELECT * FROM review_items WHERE action_id = $1', [actionId]);
    return rows[0] && toItem(rows[0]);
  }

  async pending(limit: number): Promise<ReviewItem[]> {
    // Served by the partial index review_items_pending_due.
    const { rows } = await this.pool.query<ItemRow>(`SELECT * FROM review_items WHERE status = 'pending' ORDER BY due_at, action_id LIMIT $1`, [limit]);
    return rows.map(toItem);
  }

  async decide(
    actionId: string,
    status: Exclude<ReviewStatus, 'pending'>,
    by: string[],
    reason: string,
    at: Date,
    event?: DecisionEvent,
  ): Promise<ReviewItem | undefined> {
    // A conditional UPDATE: of concurrent decisions the first to commit matches, the others find it no longer pending.
    // The decision's event goes in the same statement (the outbox): a committed decision always has its event.
    const { rows } = await this.pool.query<ItemRow>(
      `UPDATE review_items SET status = $2, deciders = $3, decision_reason = $4, decided_at = $5, decision_topic = $6, decision_event = $7
       WHERE action_id = $1 AND status = 'pending' RETURNING *`,
      [actionId, status, by, reason, at, event?.topic ?? null, event ? JSON.stringify(event.event) : null],
    );
    return rows[0] && toItem(rows[0]);
  }

  async decisionEvent(actionId: string): Promise<StoredDecisionEvent | undefined> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT action_id, decided_at, decision_topic, decision_event, decision_published_at FROM review_items
       WHERE action_id = $1 AND decision_event IS NOT NULL`,
      [actionId],
    );
    return rows[0] && toStoredEvent(rows[0]);
  }

  async unpublished(decidedBefore: Date, limit: number): Promise<StoredDecisionEvent[]> {
    // Served by the partial index review_items_unpublished.
    const { rows } = await this.pool.query<EventRow>(
      `SELECT action_id, decided_at, decision_topic, decision_event, decision_published_at FROM review_items
       WHERE decision_event IS NOT NULL AND decision_published_at IS NULL AND decided_at <= $1
       ORDER BY decided_at, action_id LIMIT $2`,
      [decidedBefore, limit],
    );
    return rows.map(toStoredEvent);
  }

  async markPublished(actionId: string, at: Date): Promise<void> {
    await this.pool.query('UPDATE review_items SET decision_published_at = $2 WHERE action_id = $1 AND decision_published_at IS NULL', [actionId, at]);
  }

  async addApproval(actionId: string, approver: string, reason: string): Promise<Array<{ approver: string; reason: string }>> {
    // The item's row lock orders the approvals of one item: each approver sees every approval before theirs, so of
    // two approvers completing a quorum at once exactly one sees it complete (and decides), and neither misses it.
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const item = await client.query('SELECT 1 FROM review_items WHERE action_id = $1 FOR NO KEY UPDATE', [actionId]);
      if (!item.rowCount) {
        await client.query('ROLLBACK');
        return [];
      }
      await client.query('INSERT INTO review_approvals (action_id, approver, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [actionId, approver, reason]);
      const { rows } = await client.query<{ approver: string; reason: string }>(
        'SELECT approver, reason FROM review_approvals WHERE action_id = $1 ORDER BY approved_at, approver',
        [actionId],
      );
      await client.query('COMMIT');
      return rows;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }
}

/** The review items (PostgreSQL) for a distributed review queue; `main.ts` picks it. */
export const createReviewItemRepository = (pool: Pool): ReviewItemRepository => new PgReviewItemRepository(pool);

/** A row of review_items as node-postgres returns it. */
interface ItemRow {
  action_id: string;
  kind: NonNullable<ReviewItem['kind']>;
  correlation_id: string;
  decision_event_id: string;
  digest: string;
  proposal: Proposal;
  sealed: string | null;
  proposer_principal: string;
  contract_version: string;
  reasons: string[];
  sla_class: string;
  required_roles: string[];
  quorum: number;
  created_at: Date;
  due_at: Date;
  status: ReviewStatus;
  deciders: string[] | null;
  decision_reason: string | null;
  decided_at: Date | null;
}

/** The outbox columns of a decided row. */
interface EventRow {
  action_id: string;
  decided_at: Date;
  decision_topic: AnyTopic;
  decision_event: TopicMap[AnyTopic];
  decision_published_at: Date | null;
}

function toStoredEvent(r: EventRow): StoredDecisionEvent {
  return {
    actionId: r.action_id,
    decidedAt: r.decided_at.toISOString(),
    topic: r.decision_topic,
    event: r.decision_event,
    ...(r.decision_published_at !== null && { publishedAt: r.decision_published_at.toISOString() }),
  };
}

function toItem(r: ItemRow): ReviewItem {
  return {
    kind: r.kind,
    actionId: r.action_id,
    correlationId: r.correlation_id,
    decisionEventId: r.decision_event_id,
    digest: r.digest,
    proposal: r.proposal,
    ...(r.sealed !== null && { sealed: r.sealed }),
    proposerPrincipal: r.proposer_principal,
    contractVersion: r.contract_version,
    reasons: r.reasons,
    slaClass: r.sla_class,
    requiredRoles: r.required_roles,
    quorum: r.quorum,
    createdAt: r.created_at.toISOString(),
    dueAt: r.due_at.toISOString(),
    status: r.status,
    ...(r.deciders !== null && { deciders: r.deciders }),
    ...(r.decision_reason !== null && { decisionReason: r.decision_reason }),
    ...(r.decided_at !== null && { decidedAt: r.decided_at.toISOString() }),
  };
}
