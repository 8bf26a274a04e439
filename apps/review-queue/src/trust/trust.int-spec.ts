import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { KafkaBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { generateKey, verifyKeyEntry } from '@countersign/keys';
import {
  call,
  createTestDatabase,
  eventually,
  freePort,
  RunningService,
  stackEnv,
  startServiceProcess,
  uniqueName,
  unleashAdmin,
  writeApprovalKeys,
  writeDecisionKeys,
  writeOutcomeKeys,
  writeReviewDataKey,
  writeTokens,
} from '@countersign/testing';

// real: Apache Kafka (the compacted trust health topic), Redis (the monitor's lease), PostgreSQL, Unleash
// (infra/stack.sh), the review queue (its trust monitor) and the policy engine each as its own process wired by its
// main, the key files on disk; fake: the orchestrator (this test publishes the proposed actions) and the reviewer's
// screen (this test calls the reviewer API).
jest.setTimeout(300_000);

const ROOT = join(__dirname, '../../../..');
const CHECK_MS = 500;

type Health = TopicMap[typeof TOPICS.trustHealthChanged];
type Decided = TopicMap[typeof TOPICS.policyDecided];

describe('the trust monitor and the policy engine on the real stack (ADR 0019)', () => {
  const ns = uniqueName('trust');
  const dir = join(ROOT, '.stack/int', ns);
  const env = stackEnv();
  const flagPrefix = `${ns}.exec.`;
  const autonomyPrefix = `${ns}.autonomy.`;
  const verdicts: Health[] = [];
  const decided = new Map<string, Decided>();
  const running: RunningService[] = [];
  let bus: KafkaBus;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let tokens: Record<string, string>;
  let rq: RunningService;
  let signingKeysFile: string;
  let verifyKeysFile: string;

  const agent = { id: 'support-copilot', kind: 'agent' as const, authMethod: 'bearer-token' as const };
  const proposer = { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' };
  const propose = (id: string, actionType: string, target: string, parameters: Record<string, unknown>) =>
    bus.emit(
      TOPICS.actionProposed,
      { proposal: { actionType, target, parameters, proposer, confidence: 0.97, tenant: `acme-${ns}`, region: 'eu-west', context: {} }, receivedVia: 'http' },
      { subject: id, correlationId: `c-${id}`, actor: agent },
    );
  /** A merge to a draft branch: autonomous by contract, medium risk, so trust-sensitive. */
  const merge = (id: string) => propose(id, 'code.merge', 'repo:docs#draft-notes', { pullRequest: 88 });
  /** A refund of 500 EUR: the contract sends it to review (finance). */
  const refund = (id: string) =>
    propose(id, 'support.refund', `order-${id}`, { amount: 500, currency: 'EUR', reason: 'damaged item', customerId: `cust-${id}` });
  const lane = (id: string) => eventually(() => decided.get(id)?.data ?? Promise.reject(new Error(`no decision for ${id} yet`)), 60_000);
  /**
   * Replaces the review queue's signing keys file as a rotation would: a new file, moved into place at once; a key that
   * is to sign is first added to the verifiers' file (the rotation's order: verifiers trust it before it signs).
   */
  const installKey = (keyId: string, notBefore: Date, notAfter: Date, toVerifiers = false) => {
    const { key, privateKeyPem } = generateKey(keyId, { notBefore, notAfter });
    if (toVerifiers) {
      writeFileSync(`${verifyKeysFile}.new`, JSON.stringify([...JSON.parse(readFileSync(verifyKeysFile, 'utf8')), verifyKeyEntry(key)]));
      renameSync(`${verifyKeysFile}.new`, verifyKeysFile);
    }
    const pem = join(dir, 'keys', `${keyId}.pem`);
    writeFileSync(pem, privateKeyPem, { mode: 0o600 });
    writeFileSync(`${signingKeysFile}.new`, JSON.stringify([{ keyId, privateKeyFile: pem, notBefore, notAfter }]));
    renameSync(`${signingKeysFile}.new`, signingKeysFile);
    return Date.now();
  };

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    db = await createTestDatabase('trust');
    const flags = unleashAdmin(env.unleashUrl, env.unleashAdminToken);
    await flags.createAll([
      ...['support.refund', 'code.merge'].map((t) => ({ name: `${flagPrefix}${t}`, enabled: true })),
      { name: `${autonomyPrefix}default`, enabled: true, variants: ['autonomous'] },
    ]);
    const written = writeTokens(dir);
    tokens = written.tokens;
    const keys = writeApprovalKeys(join(dir, 'keys'));
    const decisionKeys = writeDecisionKeys(join(dir, 'keys'));
    const outcomeKeys = writeOutcomeKeys(join(dir, 'keys'));
    signingKeysFile = keys.signingKeysFile;
    verifyKeysFile = keys.verifyKeysFile;
    const common = {
      ...env.kafkaServiceEnv,
      KAFKA_NAMESPACE: ns,
      AUTH_TOKENS_FILE: written.tokensFile,
      LOG_LEVEL: 'info',
      REDIS_URL: env.redisUrl,
      REDIS_KEY_PREFIX: `${ns}:`,
      DATABASE_URL: db.url,
      // The policy engine applies trust verdicts only when the review queue sealed them with one of these (ADR 0039).
      APPROVAL_VERIFY_KEYS_FILE: keys.verifyKeysFile,
      // The policy engine seals its decisions; the review queue queues only sealed ones (ADR 0040).
      DECISION_SIGNING_KEYS_FILE: decisionKeys.signingKeysFile,
      DECISION_VERIFY_KEYS_FILE: decisionKeys.verifyKeysFile,
      // The review queue queues only outcome checks the executor sealed (ADR 0042).
      OUTCOME_VERIFY_KEYS_FILE: outcomeKeys.verifyKeysFile,
    };
    bus = new KafkaBus({ ...env.kafkaBus, clientId: 'trust-test', namespace: ns, logger: pino({ level: 'silent' }) });
    await bus.connect();
    await bus.subscribe({
      group: 'test.watch',
      handlers: {
        [TOPICS.trustHealthChanged]: async (e) => void verdicts.push(e),
        [TOPICS.policyDecided]: async (e) => void decided.set(e.subject, e),
      },
    });
    const start = async (app: string, extra: Record<string, string>) => {
      const svc = await startServiceProcess(app, { ...common, ...extra }, { port: await freePort(), logDir: join(dir, 'logs') });
      running.push(svc);
      return svc;
    };
    [rq] = await Promise.all([
      start('review-queue', {
        APPROVAL_SIGNING_KEYS_FILE: keys.signingKeysFile,
        REVIEW_DATA_KEY_FILE: writeReviewDataKey(join(dir, 'keys')),
        TRUST_KEY_FILES: JSON.stringify([{ kind: 'verify-key', owner: 'executor', purpose: 'approval-verify', file: keys.verifyKeysFile }]),
        TRUST_CHECK_MS: String(CHECK_MS),
      }),
      start('policy-engine', {
        UNLEASH_URL: env.unleashUrl,
        UNLEASH_CLIENT_TOKEN: env.unleashClientToken,
        UNLEASH_REFRESH_MS: '500',
        FLAG_PREFIX: flagPrefix,
        AUTONOMY_FLAG_PREFIX: autonomyPrefix,
        FLAGS_BACKUP_DIR: join(dir, 'flags-backup'),
      }),
    ]);
  });

  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop()));
    await bus?.deleteNamespaceTopics().catch(() => undefined);
    await bus?.close();
    await db?.drop();
  });

  it('an expired signing key fails risky autonomy and approvals closed within a check, and a rotated key restores both without a restart', async () => {
    // Healthy: the monitor vouches for both files, and a medium-risk merge runs autonomously.
    await eventually(() => expect(verdicts.at(-1)?.data.health).toBe('healthy'), 60_000);
    expect(verdicts.at(-1)!.data.findings.map((f) => [f.owner, f.purpose, f.status])).toEqual([
      ['review-queue', 'approval-signing', 'ok'],
      ['executor', 'approval-verify', 'ok'],
      // The executor's verify file lists the key the review queue signs with (key-file.source.ts, KeyPairingSource).
      ['executor', 'approval-verify-lists-signer', 'ok'],
    ]);
    await merge('merge-before');
    expect(await lane('merge-before')).toMatchObject({ lane: 'autonomous' });
    await refund('refund-1');
    expect(await lane('refund-1')).toMatchObject({ lane: 'review' });

    // The signing keys file now lists only a key that expired a minute ago.
    const swappedAt = installKey('approvals-expired', new Date(Date.now() - 3_600_000), new Date(Date.now() - 60_000));
    await eventually(() => expect(verdicts.at(-1)?.data).toMatchObject({ health: 'unhealthy', previous: 'healthy' }), 60_000);
    const unhealthy = verdicts.at(-1)!;
    expect(unhealthy.data.findings[0]).toMatchObject({ owner: 'review-queue', status: 'expired', keyId: 'approvals-expired' });
    // Reported at the first check after the swap (the bound is wide: two cores shared with other work).
    const failedClosedMs = Date.parse(unhealthy.time) - swappedAt;
    expect(failedClosedMs).toBeLessThan(CHECK_MS + 10_000);

    // The policy engine follows: the same merge is prohibited for now (the agent may retry), a low-risk one still runs.
    await eventually(async () => {
      const id = `merge-unhealthy-${Date.now()}`;
      await merge(id);
      expect(await lane(id)).toMatchObject({ lane: 'prohibited', decidedBy: 'trust-stack', retryLater: true });
    }, 60_000);
    // The review queue signs nothing with the expired key: a clear 503, nothing recorded.
    await eventually(async () => expect(await pendingIn(rq, tokens.reviewer)).toContain('refund-1'), 30_000);
    const refused = await call('POST', `${rq.url}/v1/reviews/refund-1/approve`, { reason: 'checked the order' }, tokens.reviewer);
    expect(refused.status).toBe(503);
    expect(JSON.stringify(refused.body)).toMatch(/decisions cannot be signed now, nothing was recorded: no review-decision signing key is valid/);

    // Rotation: a new valid key in the same file. Both recover by themselves.
    const rotatedAt = installKey('approvals-rotated', new Date(Date.now() - 1_000), new Date(Date.now() + 30 * 24 * 3600_000), true);
    await eventually(() => expect(verdicts.at(-1)?.data).toMatchObject({ health: 'healthy', previous: 'unhealthy' }), 60_000);
    const restored = verdicts.at(-1)!;
    await eventually(async () => {
      const id = `merge-after-${Date.now()}`;
      await merge(id);
      expect(await lane(id)).toMatchObject({ lane: 'autonomous' });
    }, 60_000);
    // By the verdict sealed with the rotated key, not by the monitor's next report a heartbeat later: the policy engine
    // looks at its verify keys file again for a key id it does not know (it refused the verdict, and failed risky work
    // closed for 30 s more, when its last look at the file was under a second old; 2026-12-07).
    expect(Date.now() - rotatedAt).toBeLessThan(restored.data.heartbeatMs);
    // The approval refused before starts clean (nothing half done) and is signed by the rotated key.
    const approved = await eventually(async () => {
      const res = await call('POST', `${rq.url}/v1/reviews/refund-1/approve`, { reason: 'checked the order' }, tokens.reviewer);
      expect(res.status).toBe(200);
      return res;
    }, 30_000);
    expect(approved.body).toMatchObject({ status: 'approved' });
  });
});

/** The action ids pending in the review queue, as a reviewer lists them. */
async function pendingIn(rq: RunningService, token: string): Promise<string[]> {
  const res = await call('GET', `${rq.url}/v1/reviews`, undefined, token);
  return (res.body as unknown as { items: Array<{ actionId: string }> }).items.map((i) => i.actionId);
}
