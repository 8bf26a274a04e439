import type { Pool } from 'pg';
import type { Lane, Proposal } from '@countersign/contracts';
import { GroupCommit, withConnection } from '@countersign/storage';
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

/** `unsettled_since` after a move to `state` (an SQL text expression): kept from the first unsettled state on, cleared once settled. */
const UNSETTLED_SINCE = (state: string) =>
  `CASE WHEN ${state} IN (${UNSETTLED_STATES.map((s) => `'${s}'`).join(', ')}) THEN COALESCE(unsettled_since, now()) ELSE NULL END`;

/** A decision to store; with `claim`, stored already claimed for execution (`saveClaimedDecision`). */
type Decision = Omit<ActionRecord, 'state'> & { claim?: { authorisedBy: string; now: Date } };
/** The row the decision's statement gave back, and whether this statement inserted it. */
type Saved = { record: ActionRecord; stored: boolean } | undefined;
interface Claim {
  actionId: string;
  authorisedBy: string;
  now: Date;
}
interface Finish {
  actionId: string;
  state: ExecutionState;
  outcome: ActionRecord['outcome'];
  /** The claim the call was made under: recorded only while the action is still `executing` under it. */
  claimedAt?: string;
  /** No reconciler claims it before then (its target's `Retry-After`). */
  retryNotBefore?: Date;
}
interface Published {
  actionId: string;
  eventId: string;
}

/**
 * The durable execution record of a distributed executor, in PostgreSQL.
 *
 * The writes every autonomous action makes (its decision, stored already claimed when every gate lets it through, else
 * its decision and then its claim; its outcome; the outcome known published) are group-committed (docs/adr/0041): the ones of the actions in flight about the same time go in one statement and
 * one commit, each caller answered only once that commit returned. One action's writes come one after the other, and
 * each batcher never puts two writes of one action in one batch, so nothing changes for an action; what changes is
 * that under load a commit is paid per batch, not per action and step. A claim that consumes an approval's nonce stays
 * a transaction of its own (review lane, two tables).
 */
export class PgExecutionRepository implements ExecutionRepository {
  private readonly decisions: GroupCommit<Decision, Saved>;
  private readonly claims: GroupCommit<Claim, boolean>;
  private readonly outcomes: GroupCommit<Finish, boolean>;
  private readonly published: GroupCommit<Published, void>;

  /** The tables come from `apps/executor/migrations`, applied at boot by `main.ts`. */
  constructor(private readonly pool: Pool) {
    const byAction = (w: { actionId: string }) => w.actionId;
    const options = { maxBatch: 128, maxInFlight: 2 };
    this.decisions = new GroupCommit<Decision, Saved>((b) => this.saveDecisions(b), byAction, options);
    this.claims = new GroupCommit<Claim, boolean>((b) => this.claimDecided(b), byAction, options);
    this.outcomes = new GroupCommit<Finish, boolean>((b) => this.finishAll(b), byAction, options);
    this.published = new GroupCommit<Published, void>((b) => this.markPublished(b), byAction, options);
  }

  async saveDecision(r: Omit<ActionRecord, 'state'>): Promise<ActionRecord> {
    // The new row, or (when a decision was stored before) the existing one.
    const saved = await this.decisions.submit(r);
    if (saved) return saved.record;
    // A concurrent delivery inserted the row after this statement's snapshot was taken: ON CONFLICT saw
    // it, the SELECT could not. A new statement sees it.
    return (await this.get(r.actionId))!;
  }

  async saveClaimedDecision(r: Omit<ActionRecord, 'state'>, authorisedBy: string, now: Date): Promise<{ stored: boolean; record: ActionRecord }> {
    const saved = await this.decisions.submit({ ...r, claim: { authorisedBy, now } });
    return saved ?? { stored: false, record: (await this.get(r.actionId))! };
  }

  private async saveDecisions(batch: Decision[]): Promise<Saved[]> {
    const { rows } = await this.pool.query<ActionRow & { stored: boolean }>(
      {
        name: 'executor.save-decisions',
        text: `WITH input AS (
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[], $8::text[], $9::text[], $10::timestamptz[])
                   AS u(action_id, correlation_id, decision_event_id, digest, lane, proposal, proposer_principal, contract_version, authorised_by, claimed_at)),
               inserted AS (
                 INSERT INTO executor_actions (action_id, correlation_id, decision_event_id, digest, lane, proposal, state, proposer_principal, contract_version, authorised_by, claimed_at)
                 SELECT action_id, correlation_id, decision_event_id, digest, lane, proposal, CASE WHEN authorised_by IS NULL THEN 'decided' ELSE 'executing' END,
                        proposer_principal, contract_version, authorised_by, claimed_at FROM input
                 ON CONFLICT (action_id) DO NOTHING RETURNING *)
               SELECT *, true AS stored FROM inserted
               UNION ALL
               SELECT a.*, false AS stored FROM executor_actions a WHERE a.action_id IN (SELECT action_id FROM input) AND a.action_id NOT IN (SELECT action_id FROM inserted)`,
      },
      [
        batch.map((r) => r.actionId),
        batch.map((r) => r.correlationId),
        batch.map((r) => r.decisionEventId),
        batch.map((r) => r.digest),
        batch.map((r) => r.lane),
        batch.map((r) => JSON.stringify(r.proposal)),
        batch.map((r) => r.proposerPrincipal ?? null),
        batch.map((r) => r.contractVersion ?? null),
        batch.map((r) => r.claim?.authorisedBy ?? null),
        batch.map((r) => r.claim?.now ?? null),
      ],
    );
    const byId = new Map(rows.map((row) => [row.action_id, { record: toRecord(row), stored: row.stored }]));
    return batch.map((r) => byId.get(r.actionId));
  }

  async get(actionId: string): Promise<ActionRecord | undefined> {
    const { rows } = await this.pool.query<ActionRow>('SELECT * FROM executor_actions WHERE action_id = $1', [actionId]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async claim(actionId: string, authorisedBy: string, nonce: string | null, now: Date): Promise<ClaimResult> {
    if (!nonce) {
      // No approval to consume: one conditional UPDATE is the whole claim (group-committed).
      return (await this.claims.submit({ actionId, authorisedBy, now })) ? { claimed: true } : { claimed: false, reason: 'not-decided' };
    }
    return withConnection(this.pool, async (client) => {
      await client.query('BEGIN');
      if (nonce) {
        const consumed = await client.query('INSERT INTO executor_consumed_approvals (nonce, action_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
          nonce,
          actionId,
        ]);
        if (consumed.rowCount === 0) {
          await client.query('ROLLBACK');
          return { claimed: false, reason: 'approval-consumed' };
        }
      }
      const updated = await client.query(
        `UPDATE executor_actions SET state = 'executing', authorised_by = $2, claimed_at = $3, updated_at = now()
         WHERE action_id = $1 AND state = 'decided'`,
        [actionId, authorisedBy, now],
      );
      if (updated.rowCount === 0) {
        await client.query('ROLLBACK');
        return { claimed: false, reason: 'not-decided' };
      }
      await client.query('COMMIT');
      return { claimed: true };
    });
  }

  async release(actionId: string, claim: { authorisedBy: string; claimedAt: string; approvalNonce: string | null }): Promise<boolean> {
    // One statement: the claim and the nonce it consumed are given back together, or (taken over meanwhile) neither.
    const { rows } = await this.pool.query<{ released: number }>(
      {
        name: 'executor.release-claim',
        text: `WITH released AS (
                 UPDATE executor_actions SET state = 'decided', authorised_by = NULL, claimed_at = NULL, updated_at = now()
                 WHERE action_id = $1 AND state = 'executing' AND authorised_by = $2 AND claimed_at = $3::timestamptz RETURNING action_id),
               unconsumed AS (
                 DELETE FROM executor_consumed_approvals WHERE nonce = $4 AND action_id IN (SELECT action_id FROM released) RETURNING nonce)
               SELECT (SELECT count(*) FROM released)::int AS released`,
      },
      [actionId, claim.authorisedBy, claim.claimedAt, claim.approvalNonce],
    );
    return rows[0].released === 1;
  }

  private async claimDecided(batch: Claim[]): Promise<boolean[]> {
    const { rows } = await this.pool.query<{ action_id: string }>(
      {
        name: 'executor.claim-decided',
        text: `UPDATE executor_actions a SET state = 'executing', authorised_by = u.authorised_by, claimed_at = u.claimed_at, updated_at = now()
               FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(action_id, authorised_by, claimed_at)
               WHERE a.action_id = u.action_id AND a.state = 'decided' RETURNING a.action_id`,
      },
      [batch.map((c) => c.actionId), batch.map((c) => c.authorisedBy), batch.map((c) => c.now)],
    );
    const claimed = new Set(rows.map((r) => r.action_id));
    return batch.map((c) => claimed.has(c.actionId));
  }

  finish(actionId: string, state: ExecutionState, outcome: ActionRecord['outcome'], claim?: { claimedAt: string }, retryNotBefore?: Date): Promise<boolean> {
    return this.outcomes.submit({ actionId, state, outcome, ...(claim && { claimedAt: claim.claimedAt }), ...(retryNotBefore && { retryNotBefore }) });
  }

  async postpone(actionId: string, claim: { claimedAt: string }, until: Date): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE executor_actions SET retry_not_before = $3, updated_at = now() WHERE action_id = $1 AND state = 'reconciling' AND claimed_at = $2::timestamptz`,
      [actionId, claim.claimedAt, until],
    );
    return rowCount === 1;
  }

  private async finishAll(batch: Finish[]): Promise<boolean[]> {
    const { rows } = await this.pool.query<{ action_id: string }>(
      {
        name: 'executor.finish-claimed',
        text: `UPDATE executor_actions a SET state = u.state, outcome = u.outcome, outcome_to_publish = u.to_publish, updated_at = now(),
                 unsettled_since = ${UNSETTLED_SINCE('u.state')}, retry_not_before = u.retry_not_before
               FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::boolean[], $5::timestamptz[], $6::timestamptz[])
                 AS u(action_id, state, outcome, to_publish, claimed_at, retry_not_before)
               WHERE a.action_id = u.action_id AND (u.claimed_at IS NULL OR (a.state = 'executing' AND a.claimed_at = u.claimed_at))
               RETURNING a.action_id`,
      },
      [
        batch.map((f) => f.actionId),
        batch.map((f) => f.state),
        batch.map((f) => (f.outcome ? JSON.stringify(f.outcome) : null)),
        batch.map((f) => Boolean(f.outcome?.event)),
        batch.map((f) => f.claimedAt ?? null),
        batch.map((f) => f.retryNotBefore ?? null),
      ],
    );
    const recorded = new Set(rows.map((r) => r.action_id));
    return batch.map((f) => recorded.has(f.actionId));
  }

  async unpublishedOutcomes(recordedBefore: Date, limit: number): Promise<UnpublishedOutcome[]> {
    const { rows } = await this.pool.query<{ action_id: string; outcome: Required<NonNullable<ActionRecord['outcome']>> }>(
      'SELECT action_id, outcome FROM executor_actions WHERE outcome_to_publish AND updated_at <= $1 ORDER BY updated_at LIMIT $2',
      [recordedBefore, limit],
    );
    return rows.map((r) => ({ actionId: r.action_id, topic: r.outcome.topic, event: r.outcome.event }));
  }

  markOutcomePublished(actionId: string, eventId: string): Promise<void> {
    return this.published.submit({ actionId, eventId });
  }

  private async markPublished(batch: Published[]): Promise<void[]> {
    await this.pool.query(
      {
        name: 'executor.mark-published',
        text: `UPDATE executor_actions a SET outcome_to_publish = false FROM unnest($1::text[], $2::text[]) AS u(action_id, event_id)
               WHERE a.action_id = u.action_id AND a.outcome_to_publish AND a.outcome->'event'->>'id' = u.event_id`,
      },
      [batch.map((p) => p.actionId), batch.map((p) => p.eventId)],
    );
    return batch.map(() => undefined);
  }

  async claimUnsettled(now: Date, leaseMs: number, limit: number): Promise<UnsettledClaim[]> {
    // SKIP LOCKED: a row another reconciler is claiming right now is left to it; the fresh lease (claimed_at = now)
    // then keeps it from every other reconciler until the lease runs out. One statement, so no transaction to hold.
    const { rows } = await this.pool.query<ActionRow & { previous: UnsettledClaim['previous']; previous_claimed_at: Date | null }>(
      `WITH due AS (
         SELECT action_id, state AS previous, claimed_at AS previous_claimed_at FROM executor_actions
         WHERE (state = 'outcome_unknown' OR (state IN ('executing', 'reconciling') AND claimed_at <= $1::timestamptz - make_interval(secs => $2::double precision / 1000)))
           AND (retry_not_before IS NULL OR retry_not_before <= $1::timestamptz)
         ORDER BY claimed_at NULLS FIRST LIMIT $3 FOR UPDATE SKIP LOCKED)
       UPDATE executor_actions a SET state = 'reconciling', claimed_at = $1, reconcile_attempts = a.reconcile_attempts + 1, updated_at = now(),
         retry_not_before = NULL,
         -- Stranded: unsettled since its call's lease ran out (as unsettledOutcomes counted it before this claim).
         unsettled_since = COALESCE(a.unsettled_since, LEAST($1, due.previous_claimed_at + make_interval(secs => $2::double precision / 1000)))
       FROM due WHERE a.action_id = due.action_id
       RETURNING a.*, due.previous, due.previous_claimed_at`,
      [now, leaseMs, limit],
    );
    return rows.map((r) => ({
      record: toRecord(r) as UnsettledClaim['record'],
      previous: r.previous,
      previousClaimedAt: r.previous_claimed_at?.toISOString(),
    }));
  }

  async settle(
    actionId: string,
    expected: { state: ExecutionState; claimedAt?: string },
    state: ExecutionState,
    outcome: ActionRecord['outcome'],
  ): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE executor_actions SET state = $4, outcome = $5, outcome_to_publish = false, updated_at = now(), retry_not_before = NULL,
         unsettled_since = ${UNSETTLED_SINCE('$4::text')}
       WHERE action_id = $1 AND state = $2 AND ($3::timestamptz IS NULL OR claimed_at = $3::timestamptz)`,
      [actionId, expected.state, expected.claimedAt ?? null, state, outcome ? JSON.stringify(outcome) : null],
    );
    return rowCount === 1;
  }

  async unsettledOutcomes(now: Date, leaseMs: number): Promise<UnsettledOutcomes> {
    // Unsettled, and stranded `executing` past the lease (not claimed by a reconciler yet): both from their indexes.
    const lease = 'make_interval(secs => $2::double precision / 1000)';
    const { rows } = await this.pool.query<{ count: number; oldest: Date | null }>(
      `SELECT count(*)::int AS count, min(since) AS oldest FROM (
         SELECT unsettled_since AS since FROM executor_actions WHERE unsettled_since IS NOT NULL
         UNION ALL
         SELECT claimed_at + ${lease} FROM executor_actions
         WHERE state = 'executing' AND unsettled_since IS NULL AND claimed_at <= $1::timestamptz - ${lease}) unsettled`,
      [now, leaseMs],
    );
    return rows[0].oldest ? { count: rows[0].count, oldestSince: rows[0].oldest } : { count: 0 };
  }

  async keepEarlyApproval(actionId: string, event: ReviewDecidedEvent): Promise<void> {
    await this.pool.query('INSERT INTO executor_early_approvals (action_id, event) VALUES ($1, $2) ON CONFLICT DO NOTHING', [actionId, JSON.stringify(event)]);
  }

  async earlyApproval(actionId: string): Promise<ReviewDecidedEvent | undefined> {
    const { rows } = await this.pool.query('SELECT event FROM executor_early_approvals WHERE action_id = $1', [actionId]);
    return rows[0]?.event;
  }

  async forgetEarlyApproval(actionId: string, eventId: string): Promise<void> {
    await this.pool.query("DELETE FROM executor_early_approvals WHERE action_id = $1 AND event ->> 'id' = $2", [actionId, eventId]);
  }
}

/** The durable execution record (PostgreSQL) for a distributed executor; `main.ts` picks it. */
export const createExecutionRepository = (pool: Pool): ExecutionRepository => new PgExecutionRepository(pool);

/** A row of executor_actions as node-postgres returns it. */
interface ActionRow {
  action_id: string;
  correlation_id: string;
  decision_event_id: string;
  digest: string;
  lane: Lane;
  proposal: Proposal;
  state: ExecutionState;
  authorised_by: string | null;
  claimed_at: Date | null;
  outcome: ActionRecord['outcome'] | null;
  proposer_principal: string | null;
  contract_version: string | null;
  reconcile_attempts: number;
}

function toRecord(r: ActionRow): ActionRecord {
  return {
    actionId: r.action_id,
    correlationId: r.correlation_id,
    decisionEventId: r.decision_event_id,
    digest: r.digest,
    lane: r.lane,
    proposal: r.proposal,
    state: r.state,
    authorisedBy: r.authorised_by ?? undefined,
    claimedAt: r.claimed_at?.toISOString(),
    outcome: r.outcome ?? undefined,
    proposerPrincipal: r.proposer_principal ?? undefined,
    contractVersion: r.contract_version ?? undefined,
    reconcileAttempts: r.reconcile_attempts,
  };
}
