/**
 * Measures the stall a kill -9 of a consumer causes: two consumer processes share a group; events keep coming (one
 * every 50 ms, spread over every partition); one consumer is killed; the figure is the time from the kill to the
 * survivor handling the next event of a partition the dead one held. Run: `npm run stack:up`, then
 * `node -r ./tools/register.js libs/platform/bus/scripts/failover-stall.ts [rounds]`.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { TOPICS } from '@countersign/contracts';
import { join } from 'node:path';
import { KafkaBus } from '../src/kafka.bus';
import { stackKafka } from '../src/stack-kafka.int-helper';

interface Handled {
  pid: number;
  partition: number;
  at: number;
}

const GROUP = 'failover.measure';

async function consumer(namespace: string): Promise<void> {
  const bus = new KafkaBus({ ...stackKafka(), clientId: 'failover', namespace, logger: pino({ level: 'silent' }) });
  await bus.subscribe({
    group: GROUP,
    handlers: {
      [TOPICS.actionProposed]: async (_e, ctx) =>
        void process.stdout.write(`${JSON.stringify({ pid: process.pid, partition: ctx.partition, at: Date.now() })}\n`),
    },
  });
}

async function measure(rounds: number): Promise<void> {
  const namespace = `failover-${randomBytes(4).toString('hex')}`;
  const bus = new KafkaBus({ ...stackKafka(), clientId: 'failover', namespace, logger: pino({ level: 'silent' }) });
  await bus.connect();
  const handled: Handled[] = [];
  const children = new Set<ChildProcess>();
  const spawnConsumer = () => {
    const child = spawn(process.execPath, ['-r', join(__dirname, '../../../../tools/register.js'), __filename, 'consumer', namespace], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    createInterface({ input: child.stdout! }).on('line', (l) => handled.push(JSON.parse(l) as Handled));
    children.add(child);
    return child;
  };
  let n = 0;
  const proposal = {
    actionType: 'support.refund',
    target: 'o',
    parameters: {},
    proposer: { agentId: 'a', model: { name: 'm', version: '1' }, promptTemplateVersion: 'p' },
    confidence: 0.9,
    tenant: 't',
    region: 'r',
    context: {},
  };
  const ticker = setInterval(
    () => void bus.emit(TOPICS.actionProposed, { proposal, receivedVia: 'http' }, { subject: `k-${n++ % 60}`, correlationId: `c-${n}` }).catch(() => undefined),
    50,
  );
  const until = async (check: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const stalls: number[] = [];
  try {
    let a = spawnConsumer();
    let b = spawnConsumer();
    for (let round = 1; round <= rounds; round++) {
      // Both consumers at work, the group stable with two members.
      // Both at work for 2 s at least, so what each handled lately is what it holds now, not what it held before the last rebalance.
      await until(
        () =>
          [a, b].every(
            (c) => handled.some((h) => h.pid === c.pid && h.at < Date.now() - 2_000) && handled.some((h) => h.pid === c.pid && h.at > Date.now() - 1_000),
          ),
        120_000,
      );
      const g = await bus.describeGroup(GROUP);
      if (g.state !== 'Stable' || g.members !== 2) {
        round--;
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      // The partitions the victim holds now: handled by it lately, and not by the other (the assignment before the last rebalance does not count).
      const recent = handled.filter((h) => h.at > Date.now() - 1_000);
      const held = new Set(
        recent.filter((h) => h.pid === a.pid && !recent.some((o) => o.pid === b.pid && o.partition === h.partition)).map((h) => h.partition),
      );
      if (!held.size) {
        round--;
        continue;
      }
      const killedAt = Date.now();
      a.kill('SIGKILL');
      children.delete(a);
      await until(() => handled.some((h) => h.pid === b.pid && h.at > killedAt && held.has(h.partition)), 120_000);
      const first = handled.find((h) => h.pid === b.pid && h.at > killedAt && held.has(h.partition))!;
      stalls.push(first.at - killedAt);
      console.log(`round ${round}: partitions ${[...held].join(',')} of the killed consumer resumed after ${first.at - killedAt} ms`);
      a = b;
      b = spawnConsumer();
    }
    const sorted = [...stalls].sort((x, y) => x - y);
    console.log(
      `stall after kill -9: min ${sorted[0]} ms, median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms over ${stalls.length} kills`,
    );
  } finally {
    clearInterval(ticker);
    for (const c of children) c.kill('SIGKILL');
    await bus.deleteNamespaceTopics().catch(() => undefined);
    await bus.close();
  }
}

if (process.argv[2] === 'consumer') void consumer(process.argv[3]);
else {
  if (!process.env.KAFKA_BROKERS) process.loadEnvFile(join(__dirname, '../../../../.stack/stack.env'));
  measure(Number(process.argv[2] ?? 3)).then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
