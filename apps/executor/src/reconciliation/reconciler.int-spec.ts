import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { generateTreeHeadKey } from '@countersign/audit-chain';
import { KafkaBus } from '@countersign/bus';
import { newId, TOPICS } from '@countersign/contracts';
import { emitControlFact } from '@countersign/nest';
import { createPgPool, Pool } from '@countersign/storage';
import {
  createTestDatabase,
  eventually,
  freePort,
  autonomousDecisionData,
  smallRefundProposal,
  RunningService,
  stackEnv,
  startServiceProcess,
  startWebhookSink,
  trustHealthData,
  uniqueName,
  unleashAdmin,
  writeApprovalKeys,
  writeDecisionKeys,
  writeOutcomeKeys,
  sealTestDecision,
  writeTokens,
} from '@countersign/testing';
import { idempotencyKeyOf } from '../execution/idempotency-key';

// real: Apache Kafka, PostgreSQL, Unleash, the executor and the audit writer as their own processes (the executor killed
// with SIGKILL during a call), the completeness check as operators run it (`countersign audit completeness`), a slow HTTP
// target that applies an action once per Idempotency-Key (libs/testing's webhook sink); fake: nothing.
jest.setTimeout(240_000);

const ROOT = join(__dirname, '../../../..');
const LEASE_MS = 4_000;

/** `npm run countersign -- audit completeness …`, as a process (the audit writer's CLI is its own). */
function completeness(databaseUrl: string, since: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', join(ROOT, 'tools/register.js'), join(ROOT, 'tools/countersign.ts'), 'audit', 'completeness', '--database', databaseUrl, '--since', since],
      {
        cwd: ROOT,
        env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      },
    );
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out: out.trim() }));
  });
}

describe('the reconciler on the real stack', () => {
  const ns = uniqueName('recon');
  const dir = join(ROOT, '.stack/int', ns);
  const since = new Date(Date.now() - 1_000).toISOString();
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('settles an action stranded by kill -9 during a slow call: executed, exactly one effect at the target, the audit complete', async () => {
    const env = stackEnv();
    const db = await createTestDatabase('recon');
    cleanups.push(() => db.drop());
    const pool: Pool = createPgPool(db.url, 2);
    cleanups.push(() => pool.end());
    // Applies a request at once and answers 1.5 s later: the executor is killed in between.
    const sink = await startWebhookSink({ delayMs: 1_500 });
    cleanups.push(() => sink.close());
    const flagPrefix = `${ns}.exec.`;
    await unleashAdmin(env.unleashUrl, env.unleashAdminToken).create(`${flagPrefix}support.refund`, true);
    const { tokensFile } = writeTokens(dir);
    const keys = writeApprovalKeys(join(dir, 'keys'));
    const decisionKeys = writeDecisionKeys(join(dir, 'keys'));
    const outcomeKeys = writeOutcomeKeys(join(dir, 'keys'));
    const headKey = generateTreeHeadKey(`heads-${ns}`, new Date(Date.now() - 60_000), new Date(Date.now() + 24 * 3600 * 1000));
    mkdirSync(join(dir, 'keys'), { recursive: true });
    writeFileSync(join(dir, 'keys', 'heads.pem'), headKey.privatePem, { mode: 0o600 });
    const headKeysFile = join(dir, 'keys', 'heads.json');
    const { keyId, notBefore, notAfter } = headKey.entry;
    writeFileSync(headKeysFile, JSON.stringify([{ keyId, privateKeyFile: join(dir, 'keys', 'heads.pem'), notBefore, notAfter }]));
    const common = {
      ...env.kafkaServiceEnv,
      KAFKA_NAMESPACE: ns,
      AUTH_TOKENS_FILE: tokensFile,
      DATABASE_URL: db.url,
      LOG_LEVEL: 'info',
    };
    const executorEnv = {
      ...common,
      WEBHOOK_URL: sink.url,
      WEBHOOK_IDEMPOTENT: 'true',
      WEBHOOK_TIMEOUT_MS: '3000',
      EXECUTION_LEASE_MS: String(LEASE_MS),
      RECONCILE_PERIOD_MS: '200',
      APPROVAL_VERIFY_KEYS_FILE: keys.verifyKeysFile,
      // The policy engine's decision key: the decision below is sealed with it (ADR 0040).
      DECISION_VERIFY_KEYS_FILE: decisionKeys.verifyKeysFile,
      // The executor's own key: every outcome it publishes is sealed with it (ADR 0042).
      OUTCOME_SIGNING_KEYS_FILE: outcomeKeys.signingKeysFile,
      UNLEASH_URL: env.unleashUrl,
      UNLEASH_CLIENT_TOKEN: env.unleashClientToken,
      UNLEASH_REFRESH_MS: '500',
      FLAG_PREFIX: flagPrefix,
      // No autonomy flags of this test's own: the level reads unknown, which adds nothing at execution (a shared
      // Unleash may hold another test's `countersign.autonomy.*`).
      AUTONOMY_FLAG_PREFIX: `${ns}.autonomy.`,
      FLAGS_BACKUP_DIR: join(dir, 'flags-backup'),
    };
    const start = async (app: string, extra: Record<string, string>, instance?: string): Promise<RunningService> => {
      const svc = await startServiceProcess(app, { ...common, ...extra }, { port: await freePort(), logDir: join(dir, 'logs'), instance });
      cleanups.push(() => svc.stop('SIGKILL'));
      return svc;
    };
    const auditUrl = db.urlFor(env.auditDatabaseUrl);
    await start('audit-writer', {
      AUDIT_DATABASE_URL: auditUrl,
      AUDIT_SIGNING_KEYS_FILE: headKeysFile,
      AUDIT_HEAD_STORE_DIR: join(dir, 'tree-heads'),
      AUDIT_HEAD_EVERY_MS: '1000',
      DECISION_VERIFY_KEYS_FILE: decisionKeys.verifyKeysFile,
      APPROVAL_VERIFY_KEYS_FILE: keys.verifyKeysFile,
      OUTCOME_VERIFY_KEYS_FILE: outcomeKeys.verifyKeysFile,
    });
    const first = await start('executor', executorEnv, 'executor-1');

    const bus = new KafkaBus({
      ...env.kafkaBus,
      clientId: 'reconciler-test',
      source: 'orchestrator',
      namespace: ns,
      logger: pino({ level: 'silent' }),
    });
    await bus.connect();
    cleanups.push(async () => {
      await bus.deleteNamespaceTopics();
      await bus.close();
    });
    // No review queue here, so no trust monitor: the verdict it would publish (the executor holds actions without one).
    await emitControlFact(bus, keys.signing, TOPICS.trustHealthChanged, trustHealthData('healthy'), { subject: 'trust-health' });

    // An autonomous refund, as the orchestrator and the policy engine publish it.
    const actionId = newId();
    const proposal = smallRefundProposal();
    const proposed = await bus.emit(TOPICS.actionProposed, { proposal, receivedVia: 'kafka' }, { subject: actionId });
    // As the policy engine decides it, under the project contract the executor runs.
    const decision = autonomousDecisionData(proposal);
    const made = bus.envelope(TOPICS.policyDecided, decision, { cause: proposed });
    await bus.publish(TOPICS.policyDecided, sealTestDecision(made, decisionKeys.signing));

    // The target has the request (and applied it); the executor dies before the answer comes.
    await eventually(() => expect(sink.receipts.filter((r) => r.actionId === actionId)).toHaveLength(1), 60_000, 10);
    await first.stop('SIGKILL');
    const row = async () => (await pool.query('SELECT state FROM executor_actions WHERE action_id = $1', [actionId])).rows[0]?.state;
    expect(await row()).toBe('executing');
    // Stranded: the audit trail has no outcome, and the completeness check says so.
    const before = await eventually(
      async () => {
        const r = await completeness(auditUrl, since);
        expect(r.out).toContain(`gap: action ${actionId} has no execution outcome`);
        return r;
      },
      60_000,
      500,
    );
    expect(before.code).toBe(1);

    // Another executor starts (the redelivered decision finds the action executing); its reconciler settles it past the lease.
    await start('executor', executorEnv, 'executor-2');
    await eventually(async () => expect(await row()).toBe('executed'), 90_000, 100);
    const receipts = sink.receipts.filter((r) => r.actionId === actionId);
    expect(receipts.map((r) => r.idempotencyKey)).toEqual([idempotencyKeyOf(actionId, decision.digest), idempotencyKeyOf(actionId, decision.digest)]);
    expect(sink.effects(actionId)).toBe(1);

    const after = await eventually(
      async () => {
        const r = await completeness(auditUrl, since);
        expect(r).toMatchObject({ code: 0, out: expect.stringMatching(/\b1 actions since .*, 0 incomplete$/) });
        return r;
      },
      60_000,
      500,
    );
    expect(after.out).not.toContain('gap:');
    // Each step is on the record: the unknown outcome, then the re-send under the same key that settled it.
    await eventually(
      async () => {
        const { rows } = await pool.query<{ type: string; entry_json: string }>('SELECT type, entry_json FROM audit_log WHERE subject = $1 ORDER BY idx', [
          actionId,
        ]);
        const data = (type: string) => rows.filter((r) => r.type === type).map((r) => JSON.parse(r.entry_json).data);
        expect(data(TOPICS.actionFailed)).toEqual([expect.objectContaining({ outcome: 'outcome_unknown' })]);
        const [executed] = data(TOPICS.actionExecuted);
        expect(data(TOPICS.actionExecuted)).toEqual([expect.objectContaining({ reconciliation: { method: 'resend', attempt: expect.any(Number) } })]);
        // A look before the new executor had read its flags and control states (the kill switch, the mode, the trust
        // verdict unread) held the re-send, on the record: how many such looks there were depends on how fast those
        // answered, not on the outcome.
        expect(data(TOPICS.actionHeld)).toHaveLength(executed.reconciliation.attempt - 1);
      },
      30_000,
      500,
    );
  });
});
