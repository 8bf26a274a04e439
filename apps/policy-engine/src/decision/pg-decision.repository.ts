import type { Pool } from 'pg';
import { GroupCommit } from '@countersign/storage';
import { DecisionRepository, KeptDecision, StoredDecision } from './decision.repository';

interface Row {
  nonce: string;
  decision: StoredDecision;
}

interface Keep {
  decision: StoredDecision;
  nonce: string;
}

/**
 * The first decisions in PostgreSQL (`apps/policy-engine/migrations`, applied at boot by `main.ts`): a record of
 * truth, so a Redis flush no longer lets a redelivered proposal be decided again under other flags.
 *
 * Decisions made about the same time are kept in one statement and one commit (group commit, docs/adr/0041), each
 * caller answered once it returned; two decisions of one action are never in one batch.
 */
export class PgDecisionRepository implements DecisionRepository {
  private readonly kept = new GroupCommit<Keep, Row | undefined>(
    (batch) => this.keepAll(batch),
    (k) => k.decision.subject,
    { maxBatch: 128, maxInFlight: 2 },
  );

  /**
   * `ttlSeconds`: how late a redelivery may come and still get the stored answer; past it the decision reads
   * as absent (the executor and the audit trail still keep the first decision event per id).
   */
  constructor(
    private readonly pool: Pool,
    private readonly ttlSeconds = 6 * 3600,
  ) {}

  async get(actionId: string): Promise<StoredDecision | undefined> {
    const { rows } = await this.pool.query<Row>('SELECT decision FROM policy_engine_decisions WHERE action_id = $1 AND expires_at > now()', [actionId]);
    return rows[0]?.decision;
  }

  async keep(decision: StoredDecision, nonce: string): Promise<KeptDecision> {
    // The insert (or the take-over of an expired row), else the row that stands as the statement's snapshot saw it.
    const first = await this.kept.submit({ decision, nonce });
    if (first) return { decision: first.decision, mine: first.nonce === nonce };
    for (let attempt = 2; ; attempt++) {
      // A concurrent evaluation stored its decision after that statement's snapshot was taken: the conflict
      // saw it, the SELECT could not. The next statement sees it.
      const [row] = await this.keepAll([{ decision, nonce }]);
      if (row) return { decision: row.decision, mine: row.nonce === nonce };
      if (attempt === 3) throw new Error(`no decision stands for action ${decision.subject} after ${attempt} attempts`);
    }
  }

  private async keepAll(batch: Keep[]): Promise<Array<Row | undefined>> {
    const { rows } = await this.pool.query<Row & { action_id: string }>(
      {
        name: 'policy-engine.keep-decisions',
        text: `WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS u(action_id, nonce, decision)),
               kept AS (
                 INSERT INTO policy_engine_decisions (action_id, nonce, decision, expires_at)
                 SELECT action_id, nonce, decision, now() + make_interval(secs => $4) FROM input
                 ON CONFLICT (action_id) DO UPDATE
                   SET nonce = EXCLUDED.nonce, decision = EXCLUDED.decision, decided_at = now(), expires_at = EXCLUDED.expires_at
                   WHERE policy_engine_decisions.expires_at <= now()
                 RETURNING action_id, nonce, decision)
               SELECT action_id, nonce, decision FROM kept
               UNION ALL
               SELECT action_id, nonce, decision FROM policy_engine_decisions
                WHERE action_id IN (SELECT action_id FROM input) AND action_id NOT IN (SELECT action_id FROM kept) AND expires_at > now()`,
      },
      [batch.map((k) => k.decision.subject), batch.map((k) => k.nonce), batch.map((k) => JSON.stringify(k.decision)), this.ttlSeconds],
    );
    const byAction = new Map(rows.map((r) => [r.action_id, r]));
    return batch.map((k) => byAction.get(k.decision.subject));
  }

  /** Deletes the decisions past their expiry (they already read as absent); returns how many. */
  async deleteExpired(): Promise<number> {
    return (await this.pool.query('DELETE FROM policy_engine_decisions WHERE expires_at <= now()')).rowCount ?? 0;
  }
}

/** The first decisions in PostgreSQL, shared by every policy-engine instance, each kept `ttlSeconds` (6 hours by default). */
export const createDecisionRepository = (pool: Pool, ttlSeconds?: number): PgDecisionRepository => new PgDecisionRepository(pool, ttlSeconds);
