import type { Pool } from 'pg';
import type { Lane, Proposal } from '@countersign/contracts';
import { ActionRecord, ClaimResult, ExecutionRepository, ExecutionState, ReviewDecidedEvent, UnpublishedOutcome, UnsettledClaim } from './execution.repository';

/** The durable execution record of a distributed executor, in PostgreSQL. */
export class PgExecutionRepository implements ExecutionRepository {
  /** The tables come from `apps/executor/migrations`, applied at boot by `main.ts`. */
  constructor(private readonly pool: Pool) {}

  async saveDecision(r: Omit<ActionRecord, 'state'>): Promise<ActionRecord> {
    // The new row, or (when a decision was stored before) the existing one: either way one statement.
    const { rows } = await this.pool.query<ActionRow>(
      `WITH inserted AS (
         INSERT INTO executor_actions (action_id, correlation_id, decision_event_id, digest, lane, proposal, state, proposer_principal, contract_version)
         VALUES ($1, $2, $3, $4, $5, $6, 'decided', $7, $8) ON CONFLICT (action_id) DO NOTHING RETURNING *)
       SELECT * FROM inserted UNION ALL SELECT * FROM executor_actions WHERE action_id = $1 AND NOT EXISTS (SELECT 1 FROM inserted)`,
      [r.actionId, r.correlationId, r.decisionEventId, r.digest, r.lane, JSON.stringify(r.proposal), r.proposerPrincipal ?? null, r.contractVersion ?? null],
    );
    if (rows[0]) return toRecord(rows[0]);
    // A concurrent delivery inserted the row after this statement's snapshot was taken: ON CONFLICT saw
    // it, the SELECT could not. A new statement sees it.
    return (await this.get(r.actionId))!;
  }

  async get(actionId: string): Promise<ActionRecord | undefined> {
    const { rows } = await this.pool.query<ActionRow>('SELECT * FROM executor_actions WHERE action_id = $1', [actionId]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async claim(actionId: string, authorisedBy: string, nonce: string | null, now: Date): Promise<ClaimResult> {
    if (!nonce) {
      // No approval to consume: one conditional UPDATE is the whole claim.
      const updated = await this.pool.query(
        `UPDATE executor_actions SET state = 'executing', authorised_by = $2, claimed_at = $3, updated_at = now() WHERE action_id = $1 AND state = 'decided'`,
        [actionId, authorisedBy, now],
      );
      return updated.rowCount === 1 ? { claimed: true } : { claimed: false, reason: 'not-decided' };
    }
    const client = await this.pool.connect();
    try {
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
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  async finish(actionId: string, state: ExecutionState, outcome: ActionRecord['outcome']): Promise<void> {
    await this.pool.query('UPDATE executor_actions SET state = $2, outcome = $3, outcome_to_publish = $4, updated_at = now() WHERE action_id = $1', [
      actionId,
      state,
      outcome ? JSON.stringify(outcome) : null,
      Boolean(outcome?.event),
    ]);
  }

  async unpublishedOutcomes(recordedBefore: Date, limit: number): Promise<UnpublishedOutcome[]> {
    const { rows } = await this.pool.query<{ action_id: string; outcome: Required<NonNullable<ActionRecord['outcome']>> }>(
      'SELECT action_id, outcome FROM executor_actions WHERE outcome_to_publish AND updated_at <= $1 ORDER BY updated_at LIMIT $2',
      [recordedBefore, limit],
    );
    return rows.map((r) => ({ actionId: r.action_id, topic: r.outcome.topic, event: r.outcome.event }));
  }

  async markOutcomePublished(actionId: string, eventId: string): Promise<void> {
    await this.pool.query(
      `UPDATE executor_actions SET outcome_to_publish = false WHERE action_id = $1 AND outcome_to_publish AND outcome->'event'->>'id' = $2`,
      [actionId, eventId],
    );
  }

  async claimUnsettled(now: Date, leaseMs: number, limit: number): Promise<UnsettledClaim[]> {
    // SKIP LOCKED: a row another reconciler is claiming right now is left to it; the fresh lease (claimed_at = now)
    // then keeps it from every other reconciler until the lease runs out. One statement, so no transaction to hold.
    const { rows } = await this.pool.query<ActionRow & { previous: UnsettledClaim['previous']; previous_claimed_at: Date | null }>(
      `WITH due AS (
         SELECT action_id, state AS previous, claimed_at AS previous_claimed_at FROM executor_actions
         WHERE state = 'outcome_unknown' OR (state IN ('executing', 'reconciling') AND claimed_at <= $1::timestamptz - make_interval(secs => $2::double precision / 1000))
         ORDER BY claimed_at NULLS FIRST LIMIT $3 FOR UPDATE SKIP LOCKED)
       UPDATE executor_actions a SET state = 'reconciling', claimed_at = $1, reconcile_attempts = a.reconcile_attempts + 1, updated_at = now()
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
      `UPDATE executor_actions SET state = $4, outcome = $5, outcome_to_publish = false, updated_at = now()
       WHERE action_id = $1 AND state = $2 AND ($3::timestamptz IS NULL OR claimed_at = $3::timestamptz)`,
      [actionId, expected.state, expected.claimedAt ?? null, state, outcome ? JSON.stringify(outcome) : null],
    );
    return rowCount === 1;
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
