import type { Logger } from '@countersign/logging';
import { Sweeper } from '@countersign/nest';
import type { Pool } from '@countersign/storage';

/** How often the embedded database is looked after (`DatabaseUpkeep`). */
export const UPKEEP_EVERY_MS = 5 * 60_000;

/** A pass that takes longer than this is logged at info (it held the process: PGlite runs in its thread). */
const SLOW_PASS_MS = 1_000;

/**
 * What PostgreSQL's autovacuum does, done for the home's database, where nothing did it: PGlite runs one backend and no
 * autovacuum worker. Measured on a new home after 2,000 proposals (2026-12-07): no table but the rate log had ever been
 * analyzed, so the planner guessed at every query (the same inbox query on real PostgreSQL without its statistics: 52 ms a
 * page at 20,000 pending instead of 5.6 ms); and `review_items` held 2,800 dead rows beside 1,903 live ones, whose space
 * nothing would ever reuse, so every update of an item grew its file for good.
 *
 * Each pass runs `VACUUM (ANALYZE)` on each table that was never looked after, or whose file grew since it last was by
 * more than a tenth and 8 pages (inserts, updates and a log's churn all grow it): its dead rows' space reusable, the
 * planner's statistics fresh. One table at a time, so that other work runs between them; a table that did not grow is
 * not read. A failed pass is logged and tried again at the next (the `Sweeper`); nothing depends on it but speed and
 * disk.
 */
export class DatabaseUpkeep {
  private readonly sweeper: Sweeper;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    everyMs = UPKEEP_EVERY_MS,
  ) {
    this.sweeper = new Sweeper(async () => (await this.pass()).length, everyMs, logger, 'database upkeep');
  }

  start(): void {
    this.sweeper.start();
  }

  stop(): Promise<void> {
    return this.sweeper.stop();
  }

  /** One pass now: the tables it vacuumed and analyzed, schema-qualified. */
  async pass(): Promise<string[]> {
    const started = performance.now();
    // `relpages` and `reltuples` are what the last VACUUM or ANALYZE saw (-1 tuples: neither ever ran).
    const { rows } = await this.pool.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
          AND (c.reltuples < 0 OR pg_relation_size(c.oid) / current_setting('block_size')::int > c.relpages * 1.1 + 8)
        ORDER BY 1`,
    );
    for (const { name } of rows) await this.pool.query(`VACUUM (ANALYZE) ${name}`);
    const ms = Math.round(performance.now() - started);
    if (rows.length)
      this.logger[ms > SLOW_PASS_MS ? 'info' : 'debug']({ tables: rows.length, ms }, `database upkeep: vacuumed and analyzed ${rows.length} tables`);
    return rows.map((r) => r.name);
  }
}
