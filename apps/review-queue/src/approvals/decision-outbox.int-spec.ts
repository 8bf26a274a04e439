import { randomBytes } from 'node:crypto';
import { AddressInfo, createServer } from 'node:net';
import pino from 'pino';
import { generateSigningKey, verifyReviewDecision } from '@countersign/approval';
import { isDependencyFailure, KafkaBus } from '@countersign/bus';
import { Envelope, TOPICS } from '@countersign/contracts';
import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase, eventually, stackEnv } from '@countersign/testing';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { PgReviewItemRepository } from '../review-item/pg-review-item.repository';
import { reviewItem } from '../review-item/review-item.suite';
import { ApprovalService } from './approval.service';

// real: PostgreSQL (a database cloned from the migrated template: the review items and their decision outbox), Apache
// Kafka (infra/stack.sh), ApprovalService, the decision outbox and its sweeper, Ed25519 signing; fake: the Kafka outage
// of the instance that takes the decision (its bus is given a broker address where nothing listens).
jest.setTimeout(90_000);

const { brokers, sasl } = stackEnv().kafka;
const logger = pino({ level: 'silent' });
const alice = { id: 'alice', kind: 'human' as const, roles: ['reviewer'] };

/** A local port where nothing listens: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('a review decision taken while Kafka is down, on the real stack', () => {
  const namespace = `outbox-${randomBytes(4).toString('hex')}`;
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('is kept with its signed event in PostgreSQL, and a sweeper (of another instance) publishes it once', async () => {
    const db = await createTestDatabase('outbox');
    const pool: Pool = createPgPool(db.url);
    cleanups.push(
      () => db.drop(),
      () => pool.end(),
    );
    const items = new PgReviewItemRepository(pool);
    await items.add(reviewItem('a1', new Date(Date.now() + 3_600_000).toISOString()));
    const { signing, verifyKey } = generateSigningKey('rq-1');

    // Instance 1 cannot reach Kafka: the reviewer's reject answers 503, but the decision stands with its event.
    const down = new KafkaBus({
      brokers: [`127.0.0.1:${await closedPort()}`],
      clientId: 'review-queue',
      source: 'review-queue',
      namespace,
      logger,
      publishTimeoutMs: 1_000,
    });
    cleanups.push(() => down.close());
    const first = new ApprovalService(down, items, signing, new DecisionOutbox(down, items, logger));
    const failed = await first.reject('a1', alice, 'no evidence of damage').catch((e: unknown) => e);
    expect(isDependencyFailure(failed)).toBe(true);
    expect((await items.get('a1'))!.status).toBe('rejected');
    const stored = (await items.decisionEvent('a1'))!;
    expect(stored).toMatchObject({ topic: TOPICS.reviewDecided, event: { subject: 'a1', data: { decision: 'rejected' } } });
    expect(stored.publishedAt).toBeUndefined();

    // Instance 2 reaches Kafka: its sweeper publishes the stored event, once.
    const up = new KafkaBus({ brokers, sasl, clientId: 'review-queue', source: 'review-queue', namespace, partitions: 1, logger });
    const watcher = new KafkaBus({ brokers, sasl, clientId: 'watcher', namespace, logger });
    cleanups.push(
      () => up.close(),
      async () => {
        await watcher.deleteNamespaceTopics();
        await watcher.close();
      },
    );
    await up.connect();
    await watcher.connect();
    const seen: Envelope[] = [];
    await watcher.subscribe({ group: 'test.watch', handlers: { [TOPICS.reviewDecided]: async (e) => void seen.push(e) } });
    const sweeper = new DecisionOutbox(up, items, logger, { graceMs: 0 });
    expect(await sweeper.sweep()).toBe(1);
    expect(await sweeper.sweep()).toBe(0);
    expect((await items.decisionEvent('a1'))!.publishedAt).toBeDefined();

    // The reviewer's retry on instance 2 answers with the stored outcome (200, not 409); the event is out already, so it is not sent again.
    const second = new ApprovalService(up, items, signing, sweeper);
    await expect(second.reject('a1', alice, 'no evidence of damage')).resolves.toBeUndefined();

    await eventually(() => expect(seen).toHaveLength(1), 30_000);
    const [decided] = seen;
    expect(decided.id).toBe(stored.event.id);
    expect(decided).toMatchObject({ subject: 'a1', correlationId: 'c-a1', causationId: 'd-a1', actor: { id: 'alice' } });
    const signature = (decided.data as { signature: string }).signature;
    expect(verifyReviewDecision(signature, [verifyKey], new Date())).toMatchObject({
      ok: true,
      claims: { decision: 'rejected', actionId: 'a1', deciders: ['alice'] },
    });
  });
});
