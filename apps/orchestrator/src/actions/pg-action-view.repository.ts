import type { Pool } from 'pg';
import { GroupCommit } from '@countersign/storage';
import { ActionViewRepository, TimelineEntry } from './action-view.repository';

interface Recorded {
  actionId: string;
  entry: TimelineEntry;
}

/**
 * The read model in PostgreSQL (`apps/orchestrator/migrations`, applied at boot by `main.ts`), one row per
 * event of an action: the first delivery of each event id stays. Kept for good, like the actions themselves.
 *
 * Entries recorded about the same time are written together, one statement and one commit for the lot (group commit,
 * docs/adr/0041): every event of the lane passes here, so under load this was one commit per event. Two entries of one
 * action are never in one batch, so each action's entries keep the order of their `recorded_at`.
 */
export class PgActionViewRepository implements ActionViewRepository {
  private readonly appends: GroupCommit<Recorded, void>;

  constructor(private readonly pool: Pool) {
    this.appends = new GroupCommit(
      (batch) => this.append(batch),
      (r) => r.actionId,
      { maxBatch: 256, maxInFlight: 2 },
    );
  }

  record(actionId: string, entry: TimelineEntry): Promise<void> {
    return this.appends.submit({ actionId, entry });
  }

  private async append(batch: Recorded[]): Promise<void[]> {
    await this.pool.query(
      {
        name: 'timeline.append',
        text: `INSERT INTO orchestrator_action_timeline (action_id, event_id, entry)
               SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[]) ON CONFLICT DO NOTHING`,
      },
      [batch.map((r) => r.actionId), batch.map((r) => r.entry.eventId), batch.map((r) => JSON.stringify(r.entry))],
    );
    return batch.map(() => undefined);
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
