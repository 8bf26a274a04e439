import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { KafkaBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { emitControlFact } from '@countersign/nest';
import {
  createTestDatabase,
  eventually,
  freePort,
  retryWhileUnavailable,
  RunningService,
  stackEnv,
  startServiceProcess,
  uniqueName,
  unleashAdmin,
  writeApprovalKeys,
  writeDecisionKeys,
  writeTokens,
  trustHealthData,
} from '@countersign/testing';

// real: Apache Kafka, PostgreSQL, Unleash (infra/stack.sh), the policy engine as its own process wired by its main,
// and a Redis server of this file's own (started here on a free port, so stopping it disturbs no other test file);
// fake: the orchestrator (this test publishes the proposed actions).
jest.setTimeout(240_000);

const ROOT = join(__dirname, '../../../..');

/** A Redis of this test's own: no persistence, on `port`. */
function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  return eventually(async () => {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.end(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (!ok) throw new Error('redis-server not listening yet');
    return child;
  }, 10_000);
}

const stopRedis = async (child: ChildProcess | undefined) => {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
};

describe('the policy engine through dependency outages', () => {
  const ns = uniqueName('pe_outage');
  const dir = join(ROOT, '.stack/int', ns);
  const env = stackEnv();
  const flagPrefix = `${ns}.exec.`;
  const autonomyPrefix = `${ns}.autonomy.`;
  let bus: KafkaBus;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let baseEnv: Record<string, string>;
  const decided = new Map<string, TopicMap[typeof TOPICS.policyDecided]>();
  const deadLetters: string[] = [];
  const running: RunningService[] = [];

  const proposal = (i: number) => ({
    actionType: 'support.refund',
    target: `order-${ns}-${i}`,
    parameters: { amount: 12, currency: 'EUR', reason: 'damaged item', customerId: `cust-${i}` },
    proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
    confidence: 0.97,
    tenant: `acme-${ns}`,
    region: 'eu-west',
    context: {},
  });
  // As the orchestrator does (503, the agent retries): on a broker started a moment ago a partition may still be
  // electing its leader, and the bus says so with DependencyUnavailableError.
  const propose = (id: string, i: number) =>
    retryWhileUnavailable(() =>
      bus.emit(
        TOPICS.actionProposed,
        { proposal: proposal(i), receivedVia: 'http' },
        { subject: id, correlationId: `c-${id}`, actor: { id: 'support-copilot', kind: 'agent', authMethod: 'bearer-token' } },
      ),
    );

  const start = async (name: string, extra: Record<string, string>, until: 'ready' | 'serving' = 'ready') => {
    const svc = await startServiceProcess(
      'policy-engine',
      { ...baseEnv, ...extra },
      { port: await freePort(), logDir: join(dir, 'logs'), instance: name, until },
    );
    running.push(svc);
    return svc;
  };

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    db = await createTestDatabase('pe_outage');
    const flags = unleashAdmin(env.unleashUrl, env.unleashAdminToken);
    await flags.createAll([
      { name: `${flagPrefix}support.refund`, enabled: true },
      { name: `${autonomyPrefix}default`, enabled: true, variants: ['autonomous'] },
    ]);
    const { tokensFile } = writeTokens(dir);
    // The review queue's key: the engine applies only control facts it sealed (ADR 0039).
    const reviewQueueKeys = writeApprovalKeys(join(dir, 'keys'));
    baseEnv = {
      APPROVAL_VERIFY_KEYS_FILE: reviewQueueKeys.verifyKeysFile,
      DECISION_SIGNING_KEYS_FILE: writeDecisionKeys(dir).signingKeysFile,
      ...env.kafkaServiceEnv,
      KAFKA_NAMESPACE: ns,
      AUTH_TOKENS_FILE: tokensFile,
      LOG_LEVEL: 'info',
      REDIS_URL: env.redisUrl,
      REDIS_KEY_PREFIX: `${ns}:`,
      DATABASE_URL: db.url,
      UNLEASH_URL: env.unleashUrl,
      UNLEASH_CLIENT_TOKEN: env.unleashClientToken,
      UNLEASH_REFRESH_MS: '500',
      FLAG_PREFIX: flagPrefix,
      AUTONOMY_FLAG_PREFIX: autonomyPrefix,
    };
    bus = new KafkaBus({ ...env.kafkaBus, clientId: 'pe-outage-test', namespace: ns, logger: pino({ level: 'silent' }) });
    await bus.connect();
    await bus.subscribe({
      group: 'test.observe',
      handlers: {
        [TOPICS.policyDecided]: async (e) => void decided.set(e.subject, e),
        [`${TOPICS.actionProposed}.dlq` as typeof TOPICS.actionProposed]: async (e) => void deadLetters.push(e.subject),
      },
    });
    // No trust monitor runs here: the verdict it would publish (ADR 0019), or the refunds would fail closed.
    await retryWhileUnavailable(() =>
      emitControlFact(bus, reviewQueueKeys.signing, TOPICS.trustHealthChanged, trustHealthData('healthy'), { subject: 'trust-health' }),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop('SIGKILL')));
    await bus?.deleteNamespaceTopics().catch(() => undefined);
    await bus?.close();
    await db?.drop().catch(() => undefined);
  });

  it('started while Unleash is unreachable (no backup): not ready naming flags, consumes nothing; restarted with Unleash, decides every pending action under real flags', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `${ns}-flags-${i}`);
    for (const [i, id] of ids.entries()) await propose(id, i);
    const closed = await freePort();
    const blind = await start('policy-engine-blind', { UNLEASH_URL: `http://127.0.0.1:${closed}/api`, FLAGS_BACKUP_DIR: join(dir, 'empty-backup') }, 'serving');
    const readyz = await fetch(`${blind.url}/readyz`);
    expect(readyz.status).toBe(503);
    const body = (await readyz.json()) as { message: string; checks: Record<string, string> };
    expect(body.checks.flags).toContain('no flag data yet');
    expect(body.checks.consumers).toContain('policy-engine.decide');
    expect(body.message).toContain('flags (');
    // Not a member of the deciding group: it takes no partition, so nothing of it is decided (or refused) here.
    expect((await bus.describeGroup('policy-engine.decide')).members).toBe(0);
    expect(ids.filter((id) => decided.has(id))).toEqual([]);
    await blind.stop();

    await start('policy-engine', { FLAGS_BACKUP_DIR: join(dir, 'flags-backup') });
    await eventually(() => expect(ids.filter((id) => !decided.has(id))).toEqual([]), 60_000, 200);
    expect(ids.map((id) => decided.get(id)!.data.lane)).toEqual(ids.map(() => 'autonomous'));
    expect(deadLetters).toEqual([]);
  });

  it('with its Redis stopped for 15 s in the middle of handling, dead-letters no valid proposal and decides every one once Redis is back', async () => {
    const port = await freePort();
    let redis: ChildProcess | undefined = await startRedis(port);
    try {
      await Promise.all(running.map((s) => s.stop()));
      await start('policy-engine-own-redis', { REDIS_URL: `redis://127.0.0.1:${port}`, FLAGS_BACKUP_DIR: join(dir, 'flags-backup') });
      const ids = Array.from({ length: 40 }, (_, i) => `${ns}-redis-${i}`);
      for (const id of ids.slice(0, 20)) await propose(id, ids.indexOf(id));
      await eventually(() => expect(ids.filter((id) => decided.has(id)).length).toBeGreaterThan(0), 30_000, 50);
      // Redis goes away while proposals keep coming.
      await stopRedis(redis);
      redis = undefined;
      const down = Date.now();
      for (const id of ids.slice(20)) await propose(id, ids.indexOf(id));
      while (Date.now() - down < 15_000) await new Promise((r) => setTimeout(r, 500));
      const decidedDuringOutage = ids.filter((id) => decided.has(id)).length;
      redis = await startRedis(port);
      await eventually(() => expect(ids.filter((id) => !decided.has(id))).toEqual([]), 90_000, 200);
      expect(decidedDuringOutage).toBeLessThan(ids.length);
      expect(deadLetters).toEqual([]);
    } finally {
      await stopRedis(redis);
    }
  });
});
