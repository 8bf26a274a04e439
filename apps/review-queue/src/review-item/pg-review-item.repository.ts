import type { Pool } from 'pg';
import type { AnyTopic, Proposal, TopicMap } from '@countersign/contracts';
import {
  Approval,
  ApprovalRecording,
  ClockClaim,
  ClockStep,
  DecideWith,
  DecisionEvent,
  InboxQuery,
  LeftItem,
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
import { GroupCommit, GroupCommitOptions, withConnection } from '@countersign/storage';
import { mayActFor } from '@countersign/nest';
import { ItemReader, proposerSideOf, ReviewerSide } from './item-roles';

/** One one-step claim waiting for its batch. */
interface ClaimRequest {
  actionId: string;
  by: string;
  roles: string[];
  /** The tenants `by` serves (ADR 0052); absent: every tenant. */
  tenants?: string[];
  /** The agents `by` may propose as (`proposerSideOf`): their items are not for `by` to claim. */
  agents: string[];
  name: string;
  until: string;
  now: Date;
  /** The most claims `by` may hold at `now` with this one (a renewal aside); absent: no cap. */
  maxHeld?: number;
}

const byActionId = (a: { action_id: string }, b: { action_id: string }) => (a.action_id < b.action_id ? -1 : a.action_id > b.action_id ? 1 : 0);

/** One decision waiting for its group commit. */
interface DecideRequest {
  actionId: string;
  status: Exclude<ReviewStatus, 'pending'>;
  by: string[];
  reason: string;
  at: Date;
  event?: DecisionEvent;
  with_?: DecideWith;
}

/**
 * Statements that write a lease or a mark the outbox can redo, not a record of truth, make their commit asynchronous
 * (`synchronous_commit = off` for their transaction only): visible to every other session at once, on disk a few
 * milliseconds later (with the next WAL flush). A crash in between loses a claim, or a published mark (the sweeper
 * publishes that event again; consumers drop the copy), never a decision: decisions commit synchronously (docs/adr/0028).
 */
const ASYNC_COMMIT = `lease AS (SELECT set_config('synchronous_commit', 'off', true))`;

/**
 * The pending items a reviewer may work, most urgent first ($1 the limit, $2 their roles, `$<tenantsAt>` the tenants
 * walked): one walk per role of theirs, and one for the items that need none (''), over review_items_by_role in due
 * order (migration 0019; `walk`: conditions on its row `b` that an index orders, migration 0020), each item met checked
 * against `filters` (on `i`) and each walk stopped at the limit; then the
 * union, most urgent first, cut at the limit. With tenants, one walk per role and tenant. A reviewer's page costs their
 * roles' items up to a page each, not the backlog ahead of them (a scale probe, 2026-12-06: a role few items need read
 * all 200,000 pending rows, 335 ms, at every refresh of the inbox).
 */
function walkByRole(o: { tenants: boolean; filters: string; tenantsAt?: number; walk?: string }): string {
  const tenants = `$${o.tenantsAt ?? 3}`;
  return `SELECT r.* FROM review_items r WHERE r.action_id IN (
      SELECT x.action_id FROM unnest($2::text[] || ARRAY['']) AS want(role)
      ${o.tenants ? `CROSS JOIN unnest(${tenants}::text[]) AS t(tenant)` : ''}
      CROSS JOIN LATERAL (
        SELECT b.action_id FROM review_items_by_role b JOIN review_items i ON i.action_id = b.action_id
         WHERE b.role = want.role ${o.tenants ? 'AND b.tenant = t.tenant' : ''} ${o.walk ?? ''} AND i.status = 'pending' AND ${o.filters}
         ORDER BY b.due_at, b.action_id LIMIT $1) x)
    ORDER BY r.due_at, r.action_id LIMIT $1`;
}

/**
 * The review items in PostgreSQL, the records of truth of a distributed review queue: a Redis flush or restart
 * loses none. The tables come from `apps/review-queue/migrations`, applied at boot by `main.ts`.
 *
 * The statements every proposal and decision sends are named (prepared once per connection, their plan kept): parsing
 * and planning the batches' statements cost PostgreSQL more than running them (0.6 of 0.9 ms for a claim batch of 10,
 * measured). The inbox's query is not: its filters are optional, and a plan made for none would serve them all.
 */
export class PgReviewItemRepository implements ReviewItemRepository {
  /** Concurrent decisions, written together: one multi-row statement, one durable commit per batch (docs/adr/0028). */
  private readonly decisions: GroupCommit<DecideRequest, ItemRow | undefined>;
  /** Published marks, written together with an asynchronous commit (the sweeper redoes a lost one). */
  private readonly marks: GroupCommit<{ actionId: string; at: Date }, void>;
  /** The inbox's one-step claims, written together (leases: asynchronous commit). */
  private readonly claims: GroupCommit<ClaimRequest, ItemRow | undefined>;
  /** Reads of one item each, made about the same time, sent as one statement (each as committed when it ran). */
  private readonly reads: GroupCommit<string, ItemRow | undefined>;

  constructor(
    private readonly pool: Pool,
    groupCommit: GroupCommitOptions = { maxBatch: 256, maxInFlight: 2 },
  ) {
    this.decisions = new GroupCommit(
      (batch) => this.writeDecisions(batch),
      (r) => r.actionId,
      groupCommit,
    );
    this.marks = new GroupCommit(
      (batch) => this.writeMarks(batch),
      (r) => r.actionId,
      groupCommit,
    );
    this.claims = new GroupCommit(
      (batch) => this.writeClaims(batch),
      (r) => r.actionId,
      groupCommit,
    );
    this.reads = new GroupCommit(
      (batch) => this.readItems(batch),
      (id) => id,
      groupCommit,
    );
  }

  async add(item: ReviewItem): Promise<boolean> {
    // A redelivered decision finds its item there: ON CONFLICT keeps the first one, untouched.
    const { rowCount } = await this.pool.query(
      {
        name: 'review-items.add',
        text: `INSERT INTO review_items (action_id, kind, correlation_id, decision_event_id, digest, proposal, sealed, proposer_principal,
         contract_version, reasons, sla_class, required_roles, quorum, created_at, due_at, status, deciders, decision_reason, decided_at,
         escalate_at, escalate_to, fallback_team, sla_seconds, risk_score, rules_fired, risk_class, authored_by, first_queued_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)
       ON CONFLICT (action_id) DO NOTHING`,
      },
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
        item.escalateAt ?? null,
        item.escalateTo ?? null,
        item.fallbackTeam ?? null,
        item.slaSeconds ?? null,
        item.score ?? null,
        item.rulesFired ?? null,
        item.riskClass ?? null,
        item.authoredBy ?? null,
        item.firstQueuedAt ?? null,
      ],
    );
    return rowCount === 1;
  }

  async get(actionId: string): Promise<ReviewItem | undefined> {
    const row = await this.reads.submit(actionId);
    return row && toItem(row);
  }

  private async readItems(batch: string[]): Promise<Array<ItemRow | undefined>> {
    const { rows } = await this.pool.query<ItemRow>({ name: 'review-items.get', text: 'SELECT * FROM review_items WHERE action_id = ANY($1::text[])' }, [
      batch,
    ]);
    const byId = new Map(rows.map((r) => [r.action_id, r]));
    return batch.map((id) => byId.get(id));
  }

  async pending(limit: number, reviewer?: ItemReader): Promise<ReviewItem[]> {
    if (!reviewer) {
      // Served by the partial index review_items_pending_due, in due order.
      const { rows } = await this.pool.query<ItemRow>(`SELECT * FROM review_items WHERE status = 'pending' ORDER BY due_at, action_id LIMIT $1`, [limit]);
      return rows.map(toItem);
    }
    const { rows } = await this.pool.query<ItemRow>(walkByRole({ tenants: reviewer.tenants !== undefined, filters: 'true' }), [
      limit,
      reviewer.roles,
      ...(reviewer.tenants !== undefined ? [reviewer.tenants] : []),
    ]);
    return rows.map(toItem);
  }

  async pendingAhead(item: Pick<ReviewItem, 'actionId' | 'proposerPrincipal' | 'createdAt'>, atMost: number): Promise<number> {
    // Served by the partial index review_items_pending_by_proposer; at most `atMost` index entries are read.
    const { rows } = await this.pool.query<{ n: number }>(
      {
        name: 'review-items.pending-ahead',
        text: `SELECT count(*)::int AS n FROM (
           SELECT 1 FROM review_items
           WHERE status = 'pending' AND kind = 'approval' AND proposer_principal = $1 AND (created_at, action_id) < ($2::timestamptz, $3)
           LIMIT $4) ahead`,
      },
      [item.proposerPrincipal, item.createdAt, item.actionId, atMost],
    );
    return rows[0].n;
  }

  async tenantPendingAhead(item: TenantPendingAheadOf, atMost: number): Promise<number> {
    // Served by the partial index review_items_pending_by_tenant (migration 0014); at most `atMost` index entries are read.
    const { rows } = await this.pool.query<{ n: number }>(
      {
        name: 'review-items.tenant-pending-ahead',
        text: `SELECT count(*)::int AS n FROM (
           SELECT 1 FROM review_items
           WHERE status = 'pending' AND kind = 'approval' AND proposal ->> 'tenant' = $1 AND (created_at, action_id) < ($2::timestamptz, $3)
           LIMIT $4) ahead`,
      },
      [item.proposal.tenant, item.createdAt, item.actionId, atMost],
    );
    return rows[0].n;
  }

  async inbox(q: InboxQuery): Promise<ReviewItem[]> {
    // The tenants walked: the one filtered on (if the reviewer serves it), else those they serve (absent: every tenant).
    const tenants = q.tenant !== undefined ? (mayActFor(q.reviewer, q.tenant) ? [q.tenant] : []) : q.reviewer.tenants;
    if (tenants?.length === 0) return [];
    const filters = `i.kind = 'approval' AND i.proposer_principal <> $3 AND NOT coalesce((i.proposal -> 'proposer' ->> 'agentId') = ANY ($4::text[]), false)
         AND NOT ($3 = ANY (coalesce(i.approved_by, '{}'))) AND NOT ($3 = ANY (coalesce(i.authored_by, '{}')))
         AND ($5::text IS NULL OR i.sla_class = $5) AND ($6::text IS NULL OR i.proposal ->> 'actionType' = $6)
         AND ($7::text IS NULL OR i.proposal -> 'proposer' ->> 'agentId' = $7)`;
    // A type or an agent filtered on is walked in its own order (migration 0020): the page reads what it shows.
    const walk = `${q.actionType !== undefined ? 'AND b.action_type = $6' : ''} ${q.agentId !== undefined ? 'AND b.agent_id = $7' : ''}`;
    const { rows } = await this.pool.query<ItemRow>(walkByRole({ tenants: tenants !== undefined, filters, tenantsAt: 8, walk }), [
      q.limit,
      q.reviewer.roles,
      q.reviewer.id,
      proposerSideOf(q.reviewer),
      q.slaClass ?? null,
      q.actionType ?? null,
      q.agentId ?? null,
      ...(tenants !== undefined ? [tenants] : []),
    ]);
    return rows.map(toItem);
  }

  async decide(
    actionId: string,
    status: Exclude<ReviewStatus, 'pending'>,
    by: string[],
    reason: string,
    at: Date,
    event?: DecisionEvent,
    with_?: DecideWith,
  ): Promise<ReviewItem | undefined> {
    const row = await this.decisions.submit({ actionId, status, by, reason, at, event, with_ });
    return row && toItem(row);
  }

  /**
   * A batch of decisions in one statement (its own transaction, one commit): each a conditional UPDATE of its row, so
   * of concurrent decisions the first to commit matches and the others find the item no longer pending (a batch holds
   * one request per item). The decision's event goes in the same row (the outbox), and the approval completing a
   * quorum in the same statement, only for the rows it decided: a committed decision always has its event and its
   * approvals, and an approval is never counted without the decision it completed.
   */
  private async writeDecisions(batch: DecideRequest[]): Promise<Array<ItemRow | undefined>> {
    const input = batch.map((r) => ({
      action_id: r.actionId,
      status: r.status,
      deciders: r.by,
      reason: r.reason,
      decided_at: r.at.toISOString(),
      topic: r.event?.topic ?? null,
      event: r.event?.event ?? null,
      approver: r.with_?.approval?.approver ?? null,
      approval_reason: r.with_?.approval?.reason ?? null,
      after: r.with_?.approval?.after ?? null,
      auth_method: r.with_?.approval?.auth?.authMethod ?? null,
      amr: r.with_?.approval?.auth?.amr ?? null,
      claimant: r.with_?.claimant ?? null,
      revision_asked: r.with_?.revisionAsked ?? null,
    }));
    // Rows locked in action id order (as the claims' batches lock them): two batches never wait on each other in a cycle.
    input.sort(byActionId);
    const { rows } = await this.pool.query<ItemRow>(
      {
        name: 'review-items.decide',
        text: `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(action_id text, status text, deciders text[], reason text, decided_at timestamptz,
           topic text, event jsonb, approver text, approval_reason text, after text[], claimant text, revision_asked text,
           auth_method text, amr text[])
       ), decided AS (
         UPDATE review_items r SET status = i.status, deciders = i.deciders, decision_reason = i.reason, decided_at = i.decided_at,
           decision_topic = i.topic, decision_event = i.event, revision_asked = i.revision_asked,
           approved_by = CASE WHEN i.approver IS NULL THEN r.approved_by ELSE i.after || i.approver END
         FROM input i
         WHERE r.action_id = i.action_id AND r.status = 'pending'
           -- Past its due time only the clock's expiry decides it (fail closed at the due time, not at the clock's next turn).
           AND (i.status = 'expired' OR r.due_at > i.decided_at)
           AND (i.approver IS NULL OR coalesce(r.approved_by, '{}') = i.after)
           AND (i.claimant IS NULL OR r.claimed_by IS NULL OR r.claimed_by = i.claimant OR r.claimed_until <= i.decided_at)
         RETURNING ${ITEM_COLUMNS.map((c) => `r.${c}`).join(', ')}
       ), approved AS (
         INSERT INTO review_approvals (action_id, approver, reason, auth_method, amr)
         SELECT d.action_id, i.approver, i.approval_reason, i.auth_method, i.amr FROM decided d JOIN input i USING (action_id) WHERE i.approver IS NOT NULL
         ON CONFLICT DO NOTHING
       )
       SELECT * FROM decided`,
      },
      [JSON.stringify(input)],
    );
    const byId = new Map(rows.map((r) => [r.action_id, r]));
    return batch.map((r) => byId.get(r.actionId));
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
    await this.marks.submit({ actionId, at });
  }

  private async writeMarks(batch: Array<{ actionId: string; at: Date }>): Promise<void[]> {
    await this.pool.query(
      {
        name: 'review-items.mark-published',
        text: `WITH ${ASYNC_COMMIT}
       UPDATE review_items r SET decision_published_at = m.at FROM lease, unnest($1::text[], $2::timestamptz[]) AS m(action_id, at)
       WHERE r.action_id = m.action_id AND r.decision_published_at IS NULL`,
      },
      [batch.map((m) => m.actionId), batch.map((m) => m.at)],
    );
    return batch.map(() => undefined);
  }

  async addApproval(actionId: string, approver: string, reason: string, recording?: ApprovalRecording): Promise<Array<{ approver: string; reason: string }>> {
    // The item's row lock orders the approvals of one item: each approver sees every approval before theirs, so of
    // two approvers completing a quorum at once exactly one sees it complete (and decides), and neither misses it.
    return withConnection(this.pool, async (client) => {
      await client.query('BEGIN');
      const item = await client.query('SELECT 1 FROM review_items WHERE action_id = $1 FOR NO KEY UPDATE', [actionId]);
      if (!item.rowCount) {
        await client.query('ROLLBACK');
        return [];
      }
      const added = await client.query(
        'INSERT INTO review_approvals (action_id, approver, reason, auth_method, amr) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
        [actionId, approver, reason, recording?.auth?.authMethod ?? null, recording?.auth?.amr ?? null],
      );
      const { rows } = await client.query<{ approver: string; reason: string }>(
        'SELECT approver, reason FROM review_approvals WHERE action_id = $1 ORDER BY approved_at, approver',
        [actionId],
      );
      // The approval's event in the same transaction (the clock's outbox): an approval is never kept without it.
      const event = added.rowCount ? recording?.event?.(rows.map((r) => r.approver)) : undefined;
      if (event) {
        await client.query(
          'INSERT INTO review_clock_events (event_id, action_id, topic, event, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
          [event.event.id, actionId, event.topic, JSON.stringify(event.event), new Date()],
        );
      }
      // A copy on the item, written under the same lock: the inbox's live feed sees an approval as a change of the item.
      await client.query('UPDATE review_items SET approved_by = $2 WHERE action_id = $1', [actionId, rows.map((r) => r.approver)]);
      await client.query('COMMIT');
      return rows;
    });
  }

  async claimDue(now: Date, limit: number, stepFor: (item: ReviewItem) => ClockStep | undefined): Promise<ClockClaim[]> {
    // One transaction: the rows claimed stay locked until their steps and events are written, so another instance's
    // clock skips them (SKIP LOCKED: it takes the next ones instead of waiting) and a reviewer's decision on one waits,
    // then finds it as the step left it. Served by the partial index review_items_clock_due.
    return withConnection(this.pool, async (client) => {
      await client.query('BEGIN');
      const { rows } = await client.query<ItemRow>(
        `SELECT * FROM review_items WHERE status = 'pending' AND kind = 'approval' AND LEAST(escalate_at, due_at) <= $1
         ORDER BY LEAST(escalate_at, due_at), action_id LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [now, limit],
      );
      const claims: ClockClaim[] = [];
      for (const row of rows) {
        const step = stepFor(toItem(row));
        if (!step) continue;
        const updated = await client.query<ItemRow>(...stepQuery(row.action_id, step, now));
        if (step.kind !== 'expire') {
          await client.query('INSERT INTO review_clock_events (event_id, action_id, topic, event, created_at) VALUES ($1, $2, $3, $4, $5)', [
            step.event.event.id,
            row.action_id,
            step.event.topic,
            JSON.stringify(step.event.event),
            now,
          ]);
        }
        claims.push({ step: step.kind, item: toItem(updated.rows[0]), event: step.event });
      }
      await client.query('COMMIT');
      return claims;
    });
  }

  async claim(actionId: string, claim: ReviewClaim, now: Date): Promise<ReviewClaim | undefined> {
    // One conditional UPDATE: of two reviewers claiming a free item at once, the first to commit takes it and the
    // other's condition no longer matches (it then reads who holds it).
    // A lease: committed asynchronously (ASYNC_COMMIT).
    const { rows } = await this.pool.query<ClaimRow>(
      `WITH ${ASYNC_COMMIT}
       UPDATE review_items r SET claimed_by = $2, claimed_by_name = $3, claimed_until = $4 FROM lease
       WHERE r.action_id = $1 AND r.status = 'pending' AND r.due_at > $5 AND (r.claimed_by IS NULL OR r.claimed_until <= $5 OR r.claimed_by = $2)
       RETURNING r.claimed_by, r.claimed_by_name, r.claimed_until`,
      [actionId, claim.by, claim.name, claim.until, now],
    );
    if (rows[0]) return toClaim(rows[0]);
    const held = await this.pool.query<ClaimRow>(
      `SELECT claimed_by, claimed_by_name, claimed_until FROM review_items WHERE action_id = $1 AND status = 'pending' AND claimed_until > $2`,
      [actionId, now],
    );
    return held.rows[0] && toClaim(held.rows[0]);
  }

  async claimFor(actionId: string, reviewer: ReviewerSide & ItemReader, claim: ReviewClaim, now: Date, maxHeld = Infinity): Promise<ReviewItem | undefined> {
    const agents = proposerSideOf(reviewer);
    const row = await this.claims.submit({
      actionId,
      by: reviewer.id,
      roles: reviewer.roles,
      ...(reviewer.tenants && { tenants: reviewer.tenants }),
      agents,
      name: claim.name,
      until: claim.until,
      now,
      ...(Number.isFinite(maxHeld) && { maxHeld }),
    });
    return row && toItem(row);
  }

  /**
   * A batch of one-step claims in one statement: each a conditional UPDATE of its row (the inbox's conditions, then
   * the lease's), returning the item; of two reviewers claiming a free item at once, the first to commit takes it and
   * the other's condition no longer matches. Rows are locked in action id order (as the decisions' batches lock them),
   * so two batches never wait on each other in a cycle. A lease: committed asynchronously (ASYNC_COMMIT).
   */
  private async writeClaims(batch: ClaimRequest[]): Promise<Array<ItemRow | undefined>> {
    const input = batch
      .map((c) => ({
        action_id: c.actionId,
        by: c.by,
        roles: c.roles,
        tenants: c.tenants ?? null,
        agents: c.agents,
        name: c.name,
        until: c.until,
        now: c.now.toISOString(),
        max_held: c.maxHeld ?? null,
      }))
      .sort(byActionId);
    const { rows } = await this.pool.query<ItemRow>(
      {
        name: 'review-items.claim-for',
        text: `WITH ${ASYNC_COMMIT}, input AS (
         SELECT *, row_number() OVER (PARTITION BY by ORDER BY action_id) AS nth
         FROM jsonb_to_recordset($1::jsonb) AS i(action_id text, by text, roles text[], tenants text[], agents text[], name text, until timestamptz, now timestamptz, max_held int)
       ), held AS (
         -- The claims each reviewer of the batch holds already (the cap; served by the partial index review_items_claimed_by).
         SELECT h.claimed_by, count(*)::int AS n FROM review_items h
         WHERE h.claimed_by IN (SELECT by FROM input) AND h.status = 'pending' AND h.claimed_until > (SELECT min(now) FROM input)
         GROUP BY h.claimed_by
       )
       UPDATE review_items r SET claimed_by = i.by, claimed_by_name = i.name, claimed_until = i.until
       FROM lease, input i LEFT JOIN held h ON h.claimed_by = i.by
       WHERE r.action_id = i.action_id AND r.status = 'pending' AND r.kind = 'approval' AND r.due_at > i.now
         AND (cardinality(r.required_roles) = 0 OR r.required_roles && i.roles)
         AND (i.tenants IS NULL OR r.proposal ->> 'tenant' = ANY (i.tenants))
         AND r.proposer_principal <> i.by AND NOT coalesce((r.proposal -> 'proposer' ->> 'agentId') = ANY (i.agents), false)
         AND NOT (i.by = ANY (coalesce(r.approved_by, '{}'))) AND NOT (i.by = ANY (coalesce(r.authored_by, '{}')))
         AND NOT (i.by = ANY (coalesce(r.escalated_claimants, '{}')))
         AND (r.claimed_by IS NULL OR r.claimed_until <= i.now OR r.claimed_by = i.by)
         -- Under the cap: a renewal always; a new claim while what they hold, with their claims before it in this batch, is under it.
         AND (i.max_held IS NULL OR (r.claimed_by = i.by AND r.claimed_until > i.now) OR coalesce(h.n, 0) + i.nth <= i.max_held)
       RETURNING r.*`,
      },
      [JSON.stringify(input)],
    );
    const byId = new Map(rows.map((r) => [r.action_id, r]));
    return batch.map((c) => byId.get(c.actionId));
  }

  async claimsHeldBy(by: string, now: Date): Promise<string[]> {
    // Served by the partial index review_items_claimed_by.
    const { rows } = await this.pool.query<{ action_id: string }>(
      {
        name: 'review-items.claims-held-by',
        text: `SELECT action_id FROM review_items WHERE claimed_by = $1 AND claimed_until > $2 AND status = 'pending' ORDER BY action_id`,
      },
      [by, now],
    );
    return rows.map((r) => r.action_id);
  }

  async releaseClaim(actionId: string, by: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE review_items SET claimed_by = NULL, claimed_by_name = NULL, claimed_until = NULL WHERE action_id = $1 AND claimed_by = $2',
      [actionId, by],
    );
    return rowCount === 1;
  }

  async approvals(actionId: string): Promise<Approval[]> {
    const { rows } = await this.pool.query<{ approver: string; reason: string; approved_at: Date; auth_method: string | null; amr: string[] | null }>(
      'SELECT approver, reason, approved_at, auth_method, amr FROM review_approvals WHERE action_id = $1 ORDER BY approved_at, approver',
      [actionId],
    );
    return rows.map((r) => ({
      approver: r.approver,
      reason: r.reason,
      approvedAt: r.approved_at.toISOString(),
      // Approved before the method was kept (migration 0010): not known, and not guessed.
      authMethod: r.auth_method ?? UNKNOWN_AUTH_METHOD,
      ...(r.amr !== null && { amr: r.amr }),
    }));
  }

  async recentDecisions(of: RecentDecisionsOf, exceptActionId: string, limit: number): Promise<ReviewItem[]> {
    // Served by the partial indexes review_items_decided_by_tenant_target and review_items_decided_by_tenant_agent.
    const [column, value] = 'target' in of ? ["proposal ->> 'target'", of.target] : ["proposal -> 'proposer' ->> 'agentId'", of.agentId];
    const { rows } = await this.pool.query<ItemRow>(
      `SELECT * FROM review_items WHERE kind = 'approval' AND decided_at IS NOT NULL AND proposal ->> 'tenant' = $1 AND ${column} = $2
         AND action_id <> $3
       ORDER BY decided_at DESC, action_id LIMIT $4`,
      [of.tenant, value, exceptActionId, limit],
    );
    return rows.map(toItem);
  }

  async leftSince(since: Date, limit: number): Promise<LeftItem[]> {
    // Served by the partial index review_items_decided_at; only what the feed tells is read, not the proposals.
    const { rows } = await this.pool.query<{ action_id: string; status: ReviewStatus; required_roles: string[]; decided_at: Date; tenant: string }>(
      `SELECT action_id, status, required_roles, decided_at, proposal ->> 'tenant' AS tenant FROM review_items
        WHERE decided_at IS NOT NULL AND decided_at >= $1 AND status <> 'pending'
        ORDER BY decided_at DESC, action_id LIMIT $2`,
      [since, limit],
    );
    return rows.map((r) => ({
      actionId: r.action_id,
      status: r.status,
      requiredRoles: r.required_roles,
      decidedAt: r.decided_at.toISOString(),
      proposal: { tenant: r.tenant },
    }));
  }

  async unpublishedClockEvents(createdBefore: Date, limit: number): Promise<StoredClockEvent[]> {
    // Served by the partial index review_clock_events_unpublished.
    const { rows } = await this.pool.query<{ action_id: string; topic: AnyTopic; event: TopicMap[AnyTopic]; created_at: Date }>(
      `SELECT action_id, topic, event, created_at FROM review_clock_events WHERE published_at IS NULL AND created_at <= $1
       ORDER BY created_at, event_id LIMIT $2`,
      [createdBefore, limit],
    );
    return rows.map((r) => ({ actionId: r.action_id, topic: r.topic, event: r.event, createdAt: r.created_at.toISOString() }));
  }

  async markClockEventPublished(eventId: string, at: Date): Promise<void> {
    await this.pool.query('UPDATE review_clock_events SET published_at = $2 WHERE event_id = $1 AND published_at IS NULL', [eventId, at]);
  }
}

const NO_CLAIM = 'claimed_by = NULL, claimed_by_name = NULL, claimed_until = NULL';

/** A step that ends a claim still holding at `$now` keeps its holder's name: they do not claim the item again. */
const CLAIMANT_KEPT = (now: string) =>
  `escalated_claimants = CASE WHEN claimed_by IS NOT NULL AND claimed_until > ${now} AND NOT (claimed_by = ANY (coalesce(escalated_claimants, '{}')))
     THEN array_append(coalesce(escalated_claimants, '{}'), claimed_by) ELSE escalated_claimants END`;

/**
 * The UPDATE a clock step makes (the row is locked by the claim). An escalation or a re-route ends a reviewer's claim:
 * the item goes to another tier, which the old tier's lease, renewed while a card stays open, would keep out until the
 * item expired (red team, 2026-12-04).
 */
function stepQuery(actionId: string, step: ClockStep, now: Date): [string, unknown[]] {
  switch (step.kind) {
    case 'escalate':
      return [
        `UPDATE review_items SET required_roles = $2, escalate_at = NULL, escalated_at = $3, clock_step = clock_step + 1, ${CLAIMANT_KEPT('$3')}, ${NO_CLAIM}
         WHERE action_id = $1 RETURNING *`,
        [actionId, step.requiredRoles, now],
      ];
    case 'reroute':
      return [
        `UPDATE review_items SET required_roles = $2, due_at = $3, escalate_at = NULL, rerouted_at = $4, clock_step = clock_step + 1, ${CLAIMANT_KEPT('$4')},
           ${NO_CLAIM}
         WHERE action_id = $1 RETURNING *`,
        [actionId, step.requiredRoles, step.dueAt, now],
      ];
    case 'expire':
      // The expiry is the item's decision: its signed event goes in the decision outbox, like an approval's.
      return [
        `UPDATE review_items SET status = 'expired', deciders = $2, decision_reason = $3, decided_at = $4, decision_topic = $5, decision_event = $6,
           clock_step = clock_step + 1
         WHERE action_id = $1 RETURNING *`,
        [actionId, step.by, step.reason, now, step.event.topic, JSON.stringify(step.event.event)],
      ];
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
  escalate_at: Date | null;
  escalate_to: string[] | null;
  fallback_team: string | null;
  sla_seconds: number | null;
  clock_step: number;
  escalated_at: Date | null;
  rerouted_at: Date | null;
  claimed_by: string | null;
  claimed_by_name: string | null;
  claimed_until: Date | null;
  approved_by: string[] | null;
  authored_by: string[] | null;
  first_queued_at: Date | null;
  escalated_claimants: string[] | null;
  revision_asked: string | null;
  risk_score: number | null;
  rules_fired: string[] | null;
  risk_class: string | null;
}

/** The columns an item is read from (the stored decision event is not part of it: the caller has it). */
const ITEM_COLUMNS = [
  'action_id',
  'kind',
  'correlation_id',
  'decision_event_id',
  'digest',
  'proposal',
  'sealed',
  'proposer_principal',
  'contract_version',
  'reasons',
  'sla_class',
  'required_roles',
  'quorum',
  'created_at',
  'due_at',
  'status',
  'deciders',
  'decision_reason',
  'decided_at',
  'escalate_at',
  'escalate_to',
  'fallback_team',
  'sla_seconds',
  'clock_step',
  'escalated_at',
  'rerouted_at',
  'claimed_by',
  'claimed_by_name',
  'claimed_until',
  'approved_by',
  'authored_by',
  'first_queued_at',
  'escalated_claimants',
  'revision_asked',
  'risk_score',
  'rules_fired',
  'risk_class',
] as const satisfies ReadonlyArray<keyof ItemRow>;

/** The claim columns of a row. */
interface ClaimRow {
  claimed_by: string;
  claimed_by_name: string | null;
  claimed_until: Date;
}

const toClaim = (r: ClaimRow): ReviewClaim => ({ by: r.claimed_by, name: r.claimed_by_name ?? r.claimed_by, until: r.claimed_until.toISOString() });

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
    ...(r.escalate_at !== null && { escalateAt: r.escalate_at.toISOString() }),
    ...(r.escalate_to !== null && { escalateTo: r.escalate_to }),
    ...(r.fallback_team !== null && { fallbackTeam: r.fallback_team }),
    ...(r.sla_seconds !== null && { slaSeconds: r.sla_seconds }),
    ...(r.clock_step > 0 && { clockStep: r.clock_step }),
    ...(r.escalated_at !== null && { escalatedAt: r.escalated_at.toISOString() }),
    ...(r.rerouted_at !== null && { reroutedAt: r.rerouted_at.toISOString() }),
    status: r.status,
    ...(r.risk_score !== null && { score: r.risk_score }),
    ...(r.rules_fired !== null && { rulesFired: r.rules_fired }),
    ...(r.risk_class !== null && { riskClass: r.risk_class }),
    ...(r.claimed_by !== null && r.claimed_until !== null && { claim: toClaim({ ...r, claimed_by: r.claimed_by, claimed_until: r.claimed_until }) }),
    ...(r.approved_by !== null && r.approved_by.length > 0 && { approvedBy: r.approved_by }),
    ...(r.authored_by !== null && r.authored_by.length > 0 && { authoredBy: r.authored_by }),
    ...(r.first_queued_at !== null && { firstQueuedAt: r.first_queued_at.toISOString() }),
    ...(r.escalated_claimants !== null && r.escalated_claimants.length > 0 && { escalatedClaimants: r.escalated_claimants }),
    ...(r.revision_asked !== null && { revisionAsked: r.revision_asked }),
    ...(r.deciders !== null && { deciders: r.deciders }),
    ...(r.decision_reason !== null && { decisionReason: r.decision_reason }),
    ...(r.decided_at !== null && { decidedAt: r.decided_at.toISOString() }),
  };
}
