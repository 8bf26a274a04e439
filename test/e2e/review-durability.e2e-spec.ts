import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { newId, TOPICS } from '@countersign/contracts';
import { call, eventually, startDistributed, startWebhookSink, uniqueName } from '@countersign/testing';

// real: Apache Kafka, Redis, PostgreSQL, Unleash (infra/stack.sh), the five services as separate processes, wired
// by their own mains; fake: the target system (a local webhook sink that records what it receives).
jest.setTimeout(120_000);

/**
 * Deletes every Redis key of the namespace: what FLUSHALL (or a restart of a Redis without persistence) does to
 * this deployment, without touching the other test runs that share the server.
 */
async function flushNamespace(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    // Not checked empty afterwards: the running services write again at once (the review queue's backlog gauges are
    // rebuilt from PostgreSQL, `backlog:built` first), which is what the test goes on to rely on (a flaky check here).
    return deleted;
  } finally {
    redis.disconnect();
  }
}

describe('review items are records of truth (PostgreSQL), not Redis state', () => {
  const ns = uniqueName('e2e_rd');
  let stack: Awaited<ReturnType<typeof startDistributed>>;
  let sink: Awaited<ReturnType<typeof startWebhookSink>>;
  const reviews = () => `${stack.urls['review-queue']}/v1/reviews`;

  beforeAll(async () => {
    sink = await startWebhookSink();
    stack = await startDistributed({
      namespace: ns,
      webhookUrl: sink.url,
      actionTypes: ['support.refund'],
      dir: join(__dirname, '../../.stack/e2e', ns),
    });
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    await stack?.dropDatabase();
    await sink?.close();
  });

  it('after a Redis flush a pending review item is still there, and its approval executes the action once; no row holds the card in clear', async () => {
    const card = '4111 1111 1111 1111';
    const secrets = [card, card.replace(/ /g, '')];
    const submitted = await call(
      'POST',
      `${stack.urls.orchestrator}/v1/proposals`,
      {
        actionType: 'support.refund',
        target: `order-${newId()}`,
        parameters: { amount: 480, currency: 'EUR', reason: 'damaged item', card },
        proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
        confidence: 0.97,
        tenant: 'acme',
        region: 'eu-west',
        context: {},
      },
      stack.tokens.agent,
    );
    expect(submitted.status).toBe(202);
    const id = submitted.body.actionId as string;
    await eventually(async () => expect((await call('GET', `${reviews()}/${id}`, undefined, stack.tokens.reviewer)).status).toBe(200), 60_000, 100);

    // The deployment's Redis forgets everything.
    expect(await flushNamespace(stack.env.REDIS_URL, stack.env.REDIS_KEY_PREFIX)).toBeGreaterThan(0);

    const after = await call('GET', `${reviews()}/${id}`, undefined, stack.tokens.reviewer);
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ actionId: id, status: 'pending', kind: 'approval' });
    expect(JSON.stringify(after.body)).toContain('[card …1111]');
    const listed = await call('GET', reviews(), undefined, stack.tokens.reviewer);
    expect((listed.body.items as Array<{ actionId: string }>).map((i) => i.actionId)).toContain(id);
    expect(sink.effects(id)).toBe(0);

    const approved = await call(
      'POST',
      `${reviews()}/${id}/approve`,
      { reason: 'photo shows the damage', shownDigest: after.body.shownDigest },
      stack.tokens.reviewer,
    );
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', approvers: ['alice'] });
    const again = await call('POST', `${reviews()}/${id}/approve`, { reason: 'once more' }, stack.tokens.reviewer2);
    expect(again.status).toBe(409);

    // Executed once: the executor records the outcome, the audit writer logs it, the target saw one effect.
    await eventually(
      async () => {
        const entries = (
          await call('GET', `${stack.urls['audit-writer']}/v1/audit/entries?actionId=${id}&type=${TOPICS.actionExecuted}`, undefined, stack.tokens.auditor)
        ).body.entries as unknown[];
        expect(entries).toHaveLength(1);
      },
      60_000,
      100,
    );
    expect(sink.effects(id)).toBe(1);
    expect(sink.receipts.filter((r) => r.actionId === id)).toHaveLength(1);
    expect(sink.receipts.find((r) => r.actionId === id)!.body).toMatchObject({ parameters: { card } });

    // The review queue's rows hold the proposal masked and the real one only sealed.
    const db = new Client({ connectionString: stack.env.DATABASE_URL });
    await db.connect();
    try {
      const { rows } = await db.query<{ row: string }>(
        `SELECT row_to_json(i)::text AS row FROM review_items i WHERE action_id = $1
         UNION ALL SELECT row_to_json(a)::text FROM review_approvals a WHERE action_id = $1`,
        [id],
      );
      expect(rows).toHaveLength(2);
      expect(rows[0].row).toContain('[card …1111]');
      expect(JSON.parse(rows[0].row)).toMatchObject({ status: 'approved', deciders: ['alice'] });
      for (const secret of secrets) expect(rows.filter((r) => r.row.includes(secret))).toEqual([]);
    } finally {
      await db.end();
    }
  });
});
