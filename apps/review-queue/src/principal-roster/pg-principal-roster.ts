import type { Pool } from 'pg';
import type { PrincipalRoster } from './principal-roster';

/**
 * One statement: the principals named ($2, with those in the file now, $1) added or marked, the rest of the roster marked
 * removed when not yet, and every one marked removed returned. The two writes touch disjoint rows (in $2, and not).
 */
const RECONCILE = `
WITH upserted AS (
  INSERT INTO principal_roster AS r (principal, removed_at)
  SELECT p, CASE WHEN p = ANY($1::text[]) THEN NULL ELSE now() END FROM unnest($2::text[]) AS p
  ON CONFLICT (principal) DO UPDATE
    SET removed_at = CASE WHEN EXCLUDED.removed_at IS NULL THEN NULL ELSE COALESCE(r.removed_at, EXCLUDED.removed_at) END
  RETURNING principal, removed_at
), gone AS (
  UPDATE principal_roster SET removed_at = now() WHERE removed_at IS NULL AND principal <> ALL($2::text[]) RETURNING principal
)
SELECT principal FROM upserted WHERE removed_at IS NOT NULL
UNION SELECT principal FROM gone
UNION SELECT principal FROM principal_roster WHERE removed_at IS NOT NULL AND principal <> ALL($2::text[])`;

/** The roster in the review queue's PostgreSQL (`principal_roster`, migration 0016). */
export function createPrincipalRoster(pool: Pick<Pool, 'query'>): PrincipalRoster {
  return {
    async reconcile(present, seen = []) {
      const named = [...new Set([...present, ...seen])];
      const { rows } = await pool.query<{ principal: string }>(RECONCILE, [present, named]);
      return rows.map((r) => r.principal);
    },
  };
}
