import { randomBytes } from 'node:crypto';
import { connect, createServer, Socket } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { TOPICS } from '@countersign/contracts';
import { KafkaBus } from './kafka.bus';
import { DependencyUnavailableError } from './port';
import { stackKafka } from './stack-kafka.int-helper';

// real: Apache Kafka (infra/stack.sh); fake: the network between one client and the broker (a socket factory that
// can cut that client off, as if the broker were down, without stopping the broker the other test files share).
jest.setTimeout(90_000);

const { brokers, sasl } = stackKafka();
const logger = pino({ level: 'silent' });
const proposed = (n: number) => ({
  proposal: {
    actionType: 'support.refund',
    target: `order-${n}`,
    parameters: { amount: 10, currency: 'EUR', reason: 'r' },
    proposer: { agentId: 'support-copilot', model: { name: 'm', version: '1' }, promptTemplateVersion: 'p' },
    confidence: 0.9,
    tenant: 'acme',
    region: 'eu',
    context: {},
  },
  receivedVia: 'http' as const,
});

const until = async (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** A port nothing listens on. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

describe('KafkaBus against faults', () => {
  const namespace = `bus-faults-${randomBytes(4).toString('hex')}`;
  const buses: KafkaBus[] = [];
  const admin = new Kafka({ brokers, sasl, logLevel: logLevel.NOTHING }).admin();
  const bus = (extra: Partial<ConstructorParameters<typeof KafkaBus>[0]> = {}) => {
    const b = new KafkaBus({ brokers, sasl, clientId: 'bus-faults', namespace, partitions: 3, logger, ...extra });
    buses.push(b);
    return b;
  };

  beforeAll(() => admin.connect());
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
    const cleaner = new KafkaBus({ brokers, sasl, clientId: 'bus-faults', namespace, logger });
    await cleaner.deleteNamespaceTopics();
    await cleaner.close();
    await admin.disconnect();
  });

  it('with the broker gone, a publish fails within about 3 s as DependencyUnavailableError (an HTTP caller answers 503), not after ~14 s', async () => {
    const refused = await closedPort();
    let down = false;
    const sockets = new Set<Socket>();
    const b = bus({
      // A request in flight on a cut connection is given up after 2 s (not kafkajs' 30 s), so the send in flight when the
      // link dropped settles before the bus closes: nothing of it runs after the test.
      requestTimeoutMs: 2_000,
      socketFactory: ({ host, port, onConnect }) => {
        const socket = down ? connect({ host: '127.0.0.1', port: refused }, onConnect) : connect({ host, port }, onConnect);
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        return socket;
      },
    });
    await b.connect();
    await b.emit(TOPICS.actionProposed, proposed(1), { subject: 'a-1', correlationId: 'c-1' });
    // The broker goes away for this client: open connections drop, new ones are refused.
    down = true;
    for (const s of sockets) s.destroy();
    const started = Date.now();
    const error = await b.emit(TOPICS.actionProposed, proposed(2), { subject: 'a-2', correlationId: 'c-2' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const tookMs = Date.now() - started;
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(tookMs).toBeLessThan(4_000);
    down = false; // the broker is back: the client closes cleanly
    // The send that was on the cut link is still retried by kafkajs (each try waits out the request timeout): it settles
    // before the test ends, so nothing of it runs after the test.
    expect(await b.settled(30_000)).toBe(true);
  });

  it('a replayed subscription reads the whole history at every start, records no position and leaves no group behind', async () => {
    const b = bus();
    await b.connect();
    // Any topic does: three proposals, keyed on one subject (one partition), as contract changes are.
    for (let i = 0; i < 3; i++) await b.emit(TOPICS.actionProposed, proposed(i), { subject: 'operational-contract', correlationId: `c-${i}` });
    const group = `test.contract.${randomBytes(3).toString('hex')}`;
    const wire = `${namespace}.${group}`;
    for (const round of [1, 2]) {
      const seen: string[] = [];
      const sub = await b.subscribe({
        group,
        replay: true,
        handlers: { [TOPICS.actionProposed]: async (e) => void (e.subject === 'operational-contract' && seen.push(e.correlationId)) },
      });
      await until(() => seen.length === 3, `round ${round}: the whole history`);
      expect(seen).toEqual(['c-0', 'c-1', 'c-2']);
      const { groups } = await admin.describeGroups([wire]);
      expect(groups[0].state).toBe('Stable');
      const [offsets] = await admin.fetchOffsets({ groupId: wire, topics: [`${namespace}.${TOPICS.actionProposed}`] });
      expect(offsets.partitions.map((p) => p.offset)).toEqual(['-1', '-1', '-1']);
      await sub.close();
      await until(async () => !(await admin.listGroups()).groups.some((g) => g.groupId === wire), `round ${round}: the group deleted on close`, 10_000);
    }
  });
});
