import type { Pool } from 'pg';

export interface SinkReceipt {
  receivedAt: string;
  idempotencyKey: string;
  actionId: string;
  body: unknown;
  /** How many times this effect was delivered: once per action, whatever was sent again under its key. */
  deliveries: number;
}

/**
 * What the stand-in target system received, one effect per Idempotency-Key, in the embedded database (migration
 * `0003`), so a restart keeps them and exactly-once shows across it. `effects` mirrors the table in memory, in the order
 * received (loaded at start; the stand-in is for trying Countersign out, not for millions of effects).
 */
export class SinkStore {
  readonly effects: SinkReceipt[] = [];
  private readonly byKey = new Map<string, SinkReceipt>();

  private constructor(private readonly pool: Pool) {}

  static async open(pool: Pool): Promise<SinkStore> {
    const store = new SinkStore(pool);
    const { rows } = await pool.query<Row>('SELECT seq, idempotency_key, action_id, received_at, body, deliveries FROM embedded_sink_effects ORDER BY seq');
    for (const row of rows) store.mirror(row);
    return store;
  }

  /** Deliveries of every effect, first ones and repeats. */
  get deliveries(): number {
    return this.effects.reduce((n, e) => n + e.deliveries, 0);
  }

  /** Records a delivery (the first under its key adds the effect) and returns the effect's number, the target's request id. */
  async receive(idempotencyKey: string, actionId: string, body: unknown): Promise<number> {
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO embedded_sink_effects (idempotency_key, action_id, received_at, body) VALUES ($1, $2, now(), $3)
       ON CONFLICT (idempotency_key) DO UPDATE SET deliveries = embedded_sink_effects.deliveries + 1
       RETURNING seq, idempotency_key, action_id, received_at, body, deliveries`,
      [idempotencyKey, actionId, JSON.stringify(body ?? null)],
    );
    this.mirror(rows[0]);
    return Number(rows[0].seq);
  }

  private mirror(row: Row): void {
    const known = this.byKey.get(row.idempotency_key);
    if (known) {
      known.deliveries = row.deliveries;
      return;
    }
    const receipt: SinkReceipt = {
      receivedAt: new Date(row.received_at).toISOString(),
      idempotencyKey: row.idempotency_key,
      actionId: row.action_id,
      body: row.body,
      deliveries: row.deliveries,
    };
    this.byKey.set(receipt.idempotencyKey, receipt);
    this.effects.push(receipt);
  }
}

interface Row {
  seq: string;
  idempotency_key: string;
  action_id: string;
  received_at: Date | string;
  body: unknown;
  deliveries: number;
}
