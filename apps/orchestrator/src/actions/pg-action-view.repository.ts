import type { Pool } from 'pg';
import { ActionViewRepository, TimelineEntry } from './action-view.repository';

/**
 * The read model in PostgreSQL (`apps/orchestrator/migrations`, applied at boot by `main.ts`), one row per
 * event of an action: the first delivery of each event id stays. Kept for good, like the actions themselves.
 */
export class PgActionViewRepository implements ActionViewRepository {
  constructor(private readonly pool: Pool) {}

  async record(actionId: string, entry: TimelineEntry): Promise<void> {
    await this.pool.query('INSERT INTO orchestrator_action_timeline (action_id, event_id, entry) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
      actionId,
      entry.eventId,
      JSON.stringify(entry),
    ]);
  }

  async timeline(actionId: string): Promise<TimelineEntry[]> {
    const { rows } = await this.pool.query<{ entry: TimelineEntry }>(
      'SELECT entry FROM orchestrator_action_timeline WHERE action_id = $1 ORDER BY recorded_at, event_id',
      [actionId],
    );
    return rows.map((r) => r.entry);
  }
}

/** The read model in PostgreSQL, shared by every orchestrator instance. */
export const createActionViewRepository = (pool: Pool): ActionViewRepository => new PgActionViewRepository(pool);
