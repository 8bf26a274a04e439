import type { Pool } from 'pg';
import { DecisionRepository, KeptDecision, StoredDecision } from './decision.repository';

interface Row {
  nonce: string;
  decision: StoredDecision;
}

/**
 * The first decisions in PostgreSQL (`apps/policy-engine/migrations`, applied at boot by `main.ts`): a record of
 * truth, so a Redis flush no longer lets a redelivered proposal be decided again under other flags.
 */
export class PgDecisionRepository implements DecisionRepository {
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
    for (let attempt = 1; ; attempt++) {
      // One round trip, first delivery or redelivery: the insert (or the take-over of an expired row), else
      // the row that stands as this statement's snapshot saw it.
      const { rows } = await this.pool.query<Row>(
        `WITH kept AS (
           INSERT INTO policy_engine_decisions (action_id, nonce, decision, expires_at)
           VALUES ($1, $2, $3, now() + make_interval(secs => $4))
           ON CONFLICT (action_id) DO UPDATE
             SET nonce = EXCLUDED.nonce, decision = EXCLUDED.decision, decided_at = now(), expires_at = EXCLUDED.expires_at
             WHERE policy_engine_decisions.expires_at <= now()
           RETURNING nonce, decision)
         SELECT nonce, decision FROM kept
         UNION ALL
         SELECT nonce, decision FROM policy_engine_decisions WHERE action_id = $1 AND expires_at > now() AND NOT EXISTS (SELECT 1 FROM kept)`,
        [decision.subject, nonce, JSON.stringify(decision), this.ttlSeconds],
      );
      if (rows[0]) return { decision: rows[0].decision, mine: rows[0].nonce === nonce };
      // A concurrent evaluation stored its decision after this statement's snapshot was taken: the conflict
      // saw it, the SELECT could not. The next statement sees it.
      if (attempt === 3) throw new Error(`no decision stands for action ${decision.subject} after ${attempt} attempts`);
    }
  }

  /** Deletes the decisions past their expiry (they already read as absent); returns how many. */
  async deleteExpired(): Promise<number> {
    return (await this.pool.query('DELETE FROM policy_engine_decisions WHERE expires_at <= now()')).rowCount ?? 0;
  }
}

/** The first decisions in PostgreSQL, shared by every policy-engine instance, each kept `ttlSeconds` (6 hours by default). */
export const createDecisionRepository = (pool: Pool, ttlSeconds?: number): PgDecisionRepository => new PgDecisionRepository(pool, ttlSeconds);
