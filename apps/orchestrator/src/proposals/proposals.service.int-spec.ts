import { randomBytes } from 'node:crypto';
import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { DependencyUnavailableError, KafkaBus } from '@countersign/bus';
import { Envelope, Proposal, TOPICS } from '@countersign/contracts';
import { Principal, TokenRegistry } from '@countersign/nest';
import { RunningContract } from '@countersign/policy';
import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase, refundProposal, retryWhileUnavailable, stackEnv } from '@countersign/testing';
import { PgActionViewRepository } from '../actions/pg-action-view.repository';
import { PgIdempotencyRepository } from './pg-idempotency.repository';
import { ProposalsService, proposedEventId } from './proposals.service';

// real: Apache Kafka and PostgreSQL (infra/stack.sh), ProposalsService, the PostgreSQL idempotency store, the Kafka
// bus; fake: the network between the orchestrator's bus and the broker (a proxy that can hold what the client
// sends: its publish times out, then the held request reaches the broker and lands late, as in a Kafka outage).
jest.setTimeout(90_000);

const { brokers, sasl } = stackEnv().kafka;
const logger = pino({ level: 'silent' });
const contractPath = join(__dirname, '../../../policy-engine/contract/countersign.contract.yaml');
const agent: Principal = { id: 'support-copilot', kind: 'agent', roles: ['agent'] };
const refund = (target: string): Proposal => ({ ...refundProposal(), target, parameters: { amount: 48, currency: 'EUR', reason: 'damaged' } }) as Proposal;

const until = async (check: () => boolean, what: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** A TCP proxy to one broker that, while `stalled`, holds what the client sends and forwards it, in order, when released. */
class StallingProxy {
  stalled = false;
  private readonly held: Array<{ upstream: Socket; chunk: Buffer }> = [];
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(host: string, port: number): Promise<StallingProxy> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const proxy = new StallingProxy(server, (server.address() as AddressInfo).port);
    server.on('connection', (client) => {
      const upstream = connect({ host, port });
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('error', () => undefined);
        s.once('close', () => (proxy.sockets.delete(s), client.destroy(), upstream.destroy()));
      }
      client.on('data', (chunk) => (proxy.stalled || proxy.held.length ? proxy.held.push({ upstream, chunk }) : upstream.write(chunk)));
      upstream.pipe(client);
    });
    return proxy;
  }

  release() {
    this.stalled = false;
    for (const { upstream, chunk } of this.held.splice(0)) upstream.write(chunk);
  }

  async close() {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

describe('POST /v1/proposals through a Kafka outage, on the real stack', () => {
  const namespace = `proposals-${randomBytes(4).toString('hex')}`;
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('a publish that times out yet lands later, and the retry under the same key, are one action and one event', async () => {
    const db = await createTestDatabase('proposals');
    const pool: Pool = createPgPool(db.url);
    cleanups.push(
      () => db.drop(),
      () => pool.end(),
    );
    // Every broker address the client is given (bootstrap, then the advertised one) goes through a proxy.
    const proxies = new Map<string, StallingProxy>();
    for (const b of brokers) {
      const [host, port] = [b.slice(0, b.lastIndexOf(':')), Number(b.slice(b.lastIndexOf(':') + 1))];
      proxies.set(`${host}:${port}`, await StallingProxy.start(host, port));
    }
    cleanups.push(async () => Promise.all([...proxies.values()].map((p) => p.close())));
    const unknownBrokers = new Set<string>();
    const bus = new KafkaBus({
      brokers,
      sasl,
      clientId: 'orchestrator',
      namespace,
      partitions: 1,
      logger,
      publishTimeoutMs: 1_500,
      socketFactory: ({ host, port, onConnect }) => {
        const proxy = proxies.get(`${host}:${port}`);
        if (!proxy) unknownBrokers.add(`${host}:${port}`);
        return connect({ host: proxy ? '127.0.0.1' : host, port: proxy?.port ?? port }, onConnect);
      },
    });
    // What reaches the topic, read by a client of its own (not behind the proxy).
    const watcher = new KafkaBus({ brokers, sasl, clientId: 'watcher', namespace, logger });
    cleanups.push(
      () => bus.close(),
      async () => {
        await watcher.deleteNamespaceTopics();
        await watcher.close();
      },
    );
    const seen: Envelope[] = [];
    await watcher.connect();
    await watcher.subscribe({ group: 'test.watch', handlers: { [TOPICS.actionProposed]: async (e) => void seen.push(e) } });

    const service = new ProposalsService(
      bus,
      new PgIdempotencyRepository(pool),
      new PgActionViewRepository(pool),
      new TokenRegistry([]),
      RunningContract.fromFile(contractPath),
    );
    // Warm up: connected, topics made, metadata known; the broker the client talks to is behind a proxy.
    const warm = await service.acceptHttp(refund('order-warm'), agent, 'corr-warm');
    await until(() => seen.some((e) => e.subject === warm.actionId), 'the warm-up event');
    expect(unknownBrokers).toEqual(new Set());

    // Kafka stops answering: the first request's publish is sent, held, and times out (the HTTP answer is 503).
    for (const p of proxies.values()) p.stalled = true;
    await expect(service.acceptHttp(refund('order-42'), agent, 'corr-first', 'refund-order-42')).rejects.toBeInstanceOf(DependencyUnavailableError);
    // Kafka answers again: the held request reaches the broker, and the event it carried lands after all.
    for (const p of proxies.values()) p.release();
    const ofOrder42 = () => seen.filter((e) => (e.data as { proposal?: Proposal }).proposal?.target === 'order-42');
    await until(() => ofOrder42().length >= 1, 'the late first publish');
    // The agent retries under its key (again after each 503, while the client reconnects): 202, once its publish is
    // acknowledged.
    const accepted = await retryWhileUnavailable(() => service.acceptHttp(refund('order-42'), agent, 'corr-retry', 'refund-order-42'));
    expect(accepted.created).toBe(false);
    await until(() => ofOrder42().length >= 2, 'the retry’s copy');
    // One action id, one event id (so consumers drop the copy), the first request's correlation id.
    expect(new Set(ofOrder42().map((e) => e.subject))).toEqual(new Set([accepted.actionId]));
    expect(new Set(ofOrder42().map((e) => e.id))).toEqual(new Set([proposedEventId(accepted.actionId)]));
    expect(new Set(ofOrder42().map((e) => e.correlationId))).toEqual(new Set(['corr-first']));
  });
});
