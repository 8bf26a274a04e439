import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { ConflictException } from '@nestjs/common';
import { generateSigningKey, verifyReviewDecision } from '@countersign/approval';
import { KafkaBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase, eventually, reviewLaneDecision, stackEnv, testPolicyEngineKey } from '@countersign/testing';
import { ApprovalService } from '../approvals/approval.service';
import { ReviewConsumer } from '../queue/review.consumer';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { PgReviewItemRepository } from '../review-item/pg-review-item.repository';
import { generateReviewDataKey, parseReviewDataKey, ProposalSealer } from '../review-item/sealed-proposal';
import { ReviewClock } from './review-clock';

// real: PostgreSQL (a database cloned from the migrated template), Apache Kafka (infra/stack.sh), the review intake,
// ReviewClock on the wall clock with its SKIP LOCKED claim, the decision outbox, Ed25519 signing, seconds-scale SLAs;
// fake: nothing (an "instance" is the review queue's clock with its own pool and Kafka producer, stopped as the app's
// shutdown stops it; the notification target is a list).
jest.setTimeout(120_000);

const { brokers, sasl } = stackEnv().kafka;
const logger = pino({ level: 'silent' });
const SLA_SECONDS = 6;
type Decided = TopicMap[typeof TOPICS.reviewDecided];

describe('the review clock on the real stack: seconds-scale SLAs, a restart, two instances', () => {
  const namespace = `clock-${randomBytes(4).toString('hex')}`;
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('escalates at 50 % and expires at 100 % once per item, across a restart, with two instances sharing the work', async () => {
    const db = await createTestDatabase('clock');
    cleanups.push(() => db.drop());
    const { signing, verifyKey } = generateSigningKey('rq-1');

    /** One review-queue instance: its pool, its Kafka producer, its clock (ticking every 200 ms) and decision outbox. */
    async function startInstance(name: string) {
      const pool: Pool = createPgPool(db.url);
      const bus = new KafkaBus({ brokers, sasl, clientId: `review-queue-${name}`, source: 'review-queue', namespace, partitions: 1, logger });
      await bus.connect();
      const items = new PgReviewItemRepository(pool);
      const outbox = new DecisionOutbox(bus, items, logger);
      const clock = new ReviewClock(bus, items, signing, outbox, logger, { notify: async () => undefined }, { periodMs: 200 });
      clock.onApplicationBootstrap();
      const instance = {
        items,
        bus,
        outbox,
        // What the app's shutdown does: the clock stops (its tick in flight finishes), then the pool and the producer.
        stop: async () => {
          await clock.onApplicationShutdown();
          await pool.end();
          await bus.close();
        },
      };
      cleanups.push(() => instance.stop());
      return instance;
    }

    // Everything the instances publish, as the executor and the audit writer would see it.
    const watcher = new KafkaBus({ brokers, sasl, clientId: 'watcher', namespace, partitions: 1, logger });
    cleanups.push(async () => {
      await watcher.deleteNamespaceTopics();
      await watcher.close();
    });
    await watcher.connect();
    const seen = new Map<string, Decided>();
    await watcher.subscribe({ group: 'test.watch', handlers: { [TOPICS.reviewDecided]: async (e) => void seen.set(e.id, e as Decided) } });
    const decisionsOf = (actionId: string) =>
      [...seen.values()]
        .filter((e) => e.subject === actionId)
        .sort((a, b) => a.time.localeCompare(b.time))
        .map((e) => e.data.escalation?.kind ?? e.data.decision);

    const first = await startInstance('1');
    // Two actions in review with an SLA of 6 s, escalating at 50 %: one fails closed, one has a fallback team.
    const intake = new ReviewConsumer(first.items, logger, new ProposalSealer(parseReviewDataKey(generateReviewDataKey())), [testPolicyEngineKey.verifyKey]);
    const decided = (id: string, whenUnavailable: 'fail-closed' | { fallback: string }) =>
      reviewLaneDecision(id, {
        reasons: ['amount above limit'],
        score: 30,
        review: {
          slaClass: 'high',
          slaSeconds: SLA_SECONDS,
          requiredRoles: ['finance'],
          quorum: 1,
          whenUnavailable,
          escalation: { atShare: 0.5, to: ['finance-lead'] },
        },
      });
    const closed = `closed-${namespace}`;
    const fallback = `fallback-${namespace}`;
    await intake.enqueue(decided(closed, 'fail-closed'));
    await intake.enqueue(decided(fallback, { fallback: 'finance-on-call' }));
    const created = Date.parse((await first.items.get(closed))!.createdAt);

    // Instance 1 escalates at 50 % of the SLA, then stops (a restart) before the items are due.
    await eventually(() => expect(decisionsOf(closed)).toEqual(['escalated']), 30_000, 50);
    await first.stop();
    const escalation = [...seen.values()].find((e) => e.subject === closed)!;
    expect(Date.parse(escalation.time) - created).toBeGreaterThanOrEqual((SLA_SECONDS * 1000) / 2);

    // Two instances start on the same database: the timers are in PostgreSQL, and each step is taken by one of them.
    const [second, third] = await Promise.all([startInstance('2'), startInstance('3')]);
    await eventually(() => expect(decisionsOf(closed)).toEqual(['escalated', 'expired']), 60_000, 100);
    await eventually(() => expect(decisionsOf(fallback)).toEqual(['escalated', 'rerouted', 'expired']), 60_000, 100);

    const events = (id: string) => [...seen.values()].filter((e) => e.subject === id);
    const expired = events(closed).find((e) => e.data.decision === 'expired')!;
    expect(Date.parse(expired.time) - created).toBeGreaterThanOrEqual(SLA_SECONDS * 1000);
    expect(expired.data).toMatchObject({ reasonCode: 'sla_expired', reviewers: [{ id: 'review-queue', kind: 'service' }] });
    expect(verifyReviewDecision(expired.data.signature!, [verifyKey], new Date())).toMatchObject({
      ok: true,
      claims: { decision: 'expired', actionId: closed, deciders: ['review-queue'] },
    });
    // The re-route gave the fallback team the whole SLA again before its expiry.
    const rerouted = events(fallback).find((e) => e.data.escalation?.kind === 'rerouted')!;
    expect(Date.parse(events(fallback).find((e) => e.data.decision === 'expired')!.time) - Date.parse(rerouted.time)).toBeGreaterThanOrEqual(
      SLA_SECONDS * 1000,
    );
    expect(await second.items.get(fallback)).toMatchObject({ status: 'expired', requiredRoles: ['finance-on-call'], clockStep: 3 });
    expect(await second.items.get(closed)).toMatchObject({ status: 'expired', requiredRoles: ['finance', 'finance-lead'], clockStep: 2 });

    // A reviewer too late: 409, and nothing more goes out however long the clocks keep ticking.
    const approvals = new ApprovalService(third.bus, third.items, signing, third.outbox);
    await expect(approvals.approve(closed, { id: 'fran', kind: 'human', roles: ['finance'] }, 'looks fine')).rejects.toBeInstanceOf(ConflictException);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(events(closed)).toHaveLength(2);
    expect(events(fallback)).toHaveLength(3);
  });
});
