import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import ts from 'typescript';
import { InMemoryBus, SubscribeOptions } from '@countersign/bus';
import { AnyTopic, KAFKA_SERVICES, KafkaService, kafkaRights } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { eventually } from '@countersign/testing';
import { startEmbedded } from '../../apps/embedded/src/embedded';

// real: the five services as they run (the embedded mode: their modules, consumers and followers, on the in-process
// bus), and their TypeScript sources read with the TypeScript parser; fake: nothing (the bus's `subscribe` is watched,
// not replaced).
// The Kafka ACLs give READ from TOPIC_READERS (docs/adr/0026): a consumer subscribing to a topic its service may not read
// would be refused by the broker, and a READ no consumer uses is a right nobody needs. A consumer group is named after
// its service (`<service>.<purpose>`) and the ACLs let only that service's certificate join it, so the group names the
// certificate that must read the group's topics.
const root = join(__dirname, '../..');

/**
 * Every concrete class of the services and platform libs that extends BusConsumer, directly or through an abstract
 * consumer of the platform (`FlagControlFollower`): each must be seen subscribing below.
 */
function consumerClasses(): string[] {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', 'apps', 'libs'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.endsWith('.ts') && !/\.(spec|int-spec|e2e-spec|suite|harness)\.ts$/.test(f) && !f.startsWith('libs/testing/'));
  const classes: Array<{ name: string; base: string; abstract: boolean }> = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    if (!/\bextends\b/.test(text)) continue;
    const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node) => {
      if (ts.isClassDeclaration(node) && node.name) {
        const base = node.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression;
        const abstract = node.modifiers?.some((m) => m.kind === ts.SyntaxKind.AbstractKeyword) ?? false;
        if (base && ts.isIdentifier(base)) classes.push({ name: node.name.text, base: base.text, abstract });
      }
      ts.forEachChild(node, visit);
    };
    visit(src);
  }
  const bases = new Set(['BusConsumer']);
  for (let grew = true; grew;) {
    grew = false;
    for (const c of classes) if (c.abstract && bases.has(c.base) && !bases.has(c.name)) grew = Boolean(bases.add(c.name));
  }
  return classes.filter((c) => !c.abstract && bases.has(c.base)).map((c) => c.name);
}

interface Seen {
  group: string;
  service: string;
  topics: AnyTopic[];
}

describe('every topic a service consumes is one the topic table lets it read, and every READ it has is used (the ACLs)', () => {
  const subscribe = jest.spyOn(InMemoryBus.prototype, 'subscribe');
  // `BusConsumer.subscribe` is private: watched to know which consumer classes subscribed (`this` of each call).
  const consumerSubscribe = jest.spyOn(BusConsumer.prototype as unknown as { subscribe(): Promise<void> }, 'subscribe');
  const home = mkdtempSync(join(tmpdir(), 'countersign-readers-'));
  let running: Awaited<ReturnType<typeof startEmbedded>> | undefined;
  let seen: Seen[] = [];
  const classes = consumerClasses();

  const subscribedClasses = () => {
    const byName = new Map<string, Set<unknown>>();
    for (const self of consumerSubscribe.mock.contexts as object[]) {
      const ctor = self.constructor;
      byName.set(ctor.name, (byName.get(ctor.name) ?? new Set()).add(ctor));
    }
    return byName;
  };

  beforeAll(async () => {
    running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
    // A consumer whose service is not ready yet subscribes once it is: wait until every consumer class has (two classes
    // of one name, one per service, count twice).
    await eventually(() => {
      const byName = subscribedClasses();
      const missing = [...new Set(classes)].filter((c) => (byName.get(c)?.size ?? 0) < classes.filter((x) => x === c).length);
      expect(missing).toEqual([]);
    }, 30_000);
    seen = subscribe.mock.calls.map(([options]: [SubscribeOptions]) => ({
      group: options.group,
      service: options.group.split('.')[0],
      topics: Object.keys(options.handlers) as AnyTopic[],
    }));
  }, 90_000);

  afterAll(async () => {
    await running?.close();
    rmSync(home, { recursive: true, force: true });
    subscribe.mockRestore();
    consumerSubscribe.mockRestore();
  });

  const topicsOf = (service: KafkaService) => new Set(seen.filter((s) => s.service === service).flatMap((s) => s.topics));

  it('finds the consumer classes in the sources, and sees each subscribe', () => {
    expect(classes).toEqual(expect.arrayContaining(['ExecutionConsumer', 'AuditConsumer', 'TrustHealthFollower', 'DegradationModeFollower']));
    expect(consumerSubscribe.mock.calls.length).toBeGreaterThanOrEqual(classes.length);
  });

  it('names every consumer group after a service (the certificate that may join it)', () => {
    expect(seen.filter((s) => !(KAFKA_SERVICES as readonly string[]).includes(s.service)).map((s) => s.group)).toEqual([]);
  });

  it.each(KAFKA_SERVICES)('%s consumes only topics it may read', (service) => {
    const subscriptions = seen.filter((s) => s.service === service);
    expect(subscriptions.length).toBeGreaterThan(0);
    const read = new Set(kafkaRights(service).read);
    const refused = subscriptions.flatMap((s) => s.topics.filter((t) => !read.has(t)).map((t) => `${t} (group ${s.group})`));
    expect(refused).toEqual([]);
  });

  it.each(KAFKA_SERVICES)('%s uses every READ it has (no right nobody needs)', (service) => {
    const used = topicsOf(service);
    expect(kafkaRights(service).read.filter((t) => !used.has(t))).toEqual([]);
  });

  it('can fail: the executor consumes topics the orchestrator may not read, and the other way round', () => {
    const orchestratorReads = new Set(kafkaRights('orchestrator').read);
    expect([...topicsOf('executor')].some((t) => !orchestratorReads.has(t))).toBe(true);
    const executorReads = new Set(kafkaRights('executor').read);
    expect([...topicsOf('orchestrator')].some((t) => !executorReads.has(t))).toBe(true);
  });
});
