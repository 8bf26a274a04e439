import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { KafkaBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import {
  createTestDatabase,
  eventually,
  freePort,
  RunningPebble,
  RunningService,
  sampleSum,
  scrapeMetrics,
  stackEnv,
  startPebble,
  startServiceProcess,
  uniqueName,
  writeApprovalKeys,
  writeDecisionKeys,
  writeOutcomeKeys,
  writeReviewDataKey,
  writeTokens,
} from '@countersign/testing';

// real: the review queue as its own process wired by its main (PORTAL_ACME_* settings), pebble (Debian's ACME test
// server), Apache Kafka (the trust health topic), Redis (the trust monitor's lease), PostgreSQL (infra/stack.sh);
// fake: none.
jest.setTimeout(300_000);

const ROOT = join(__dirname, '../../../..');
type Health = TopicMap[typeof TOPICS.trustHealthChanged];

describe('the review queue with PORTAL_ACME_* set (ADR 0027)', () => {
  const ns = uniqueName('portaltls');
  const dir = join(ROOT, '.stack/int', ns);
  const env = stackEnv();
  const verdicts: Health[] = [];
  let pebble: RunningPebble;
  let bus: KafkaBus;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let rq: RunningService | undefined;

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    pebble = await startPebble({ dir: join(dir, 'pebble') });
    db = await createTestDatabase('portaltls');
    bus = new KafkaBus({ ...env.kafkaBus, clientId: 'portal-tls-test', namespace: ns, logger: pino({ level: 'silent' }) });
    await bus.connect();
    await bus.subscribe({ group: 'test.watch', handlers: { [TOPICS.trustHealthChanged]: async (e) => void verdicts.push(e) } });
  });

  afterAll(async () => {
    await rq?.stop();
    await pebble?.stop();
    await bus?.deleteNamespaceTopics().catch(() => undefined);
    await bus?.close();
    await db?.drop();
  });

  it('refuses to boot on half an ACME setup, with one line', () => {
    const r = spawnSync(process.execPath, ['-r', join(ROOT, 'tools/register.js'), join(ROOT, 'apps/review-queue/src/main.ts')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, PORTAL_HOSTNAMES: 'localhost', PORTAL_CERT_DIR: join(dir, 'unused') },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      'config: PORTAL_HOSTNAMES: set only with PORTAL_ACME_DIRECTORY_URL (no ACME without it); PORTAL_CERT_DIR: set only with PORTAL_ACME_DIRECTORY_URL (no ACME without it)',
    );
  });

  it("obtains the portal's certificate at boot, counts it, and the trust monitor watches it against the ACME root", async () => {
    const certDir = join(dir, 'portal');
    const rootFile = join(dir, 'acme-root.pem');
    writeFileSync(rootFile, await pebble.issuingRoot());
    const { tokens, tokensFile } = writeTokens(dir);
    const keys = writeApprovalKeys(join(dir, 'keys'));
    rq = await startServiceProcess(
      'review-queue',
      {
        ...env.kafkaServiceEnv,
        KAFKA_NAMESPACE: ns,
        AUTH_TOKENS_FILE: tokensFile,
        LOG_LEVEL: 'info',
        REDIS_URL: env.redisUrl,
        REDIS_KEY_PREFIX: `${ns}:`,
        DATABASE_URL: db.url,
        APPROVAL_SIGNING_KEYS_FILE: keys.signingKeysFile,
        DECISION_VERIFY_KEYS_FILE: writeDecisionKeys(dir).verifyKeysFile,
        OUTCOME_VERIFY_KEYS_FILE: writeOutcomeKeys(dir).verifyKeysFile,
        REVIEW_DATA_KEY_FILE: writeReviewDataKey(join(dir, 'keys')),
        TRUST_CHECK_MS: '500',
        PORTAL_ACME_DIRECTORY_URL: pebble.directoryUrl,
        PORTAL_ACME_CA_FILE: pebble.caFile,
        PORTAL_ACME_ROOT_FILE: rootFile,
        PORTAL_HOSTNAMES: 'localhost',
        PORTAL_CERT_DIR: certDir,
        PORTAL_ACME_HTTP_PORT: String(pebble.httpPort),
        // A failed order at boot is tried again after 1 s (doubling), not after the hour of PORTAL_ACME_CHECK_MS.
        PORTAL_ACME_RETRY_MS: '1000',
      },
      { port: await freePort(), logDir: join(dir, 'logs') },
    );

    await eventually(
      async () => expect(sampleSum(await scrapeMetrics(rq!.url, tokens.metrics), 'countersign_acme_renewals_total', { outcome: 'success' })).toBe(1),
      120_000,
      200,
    );
    const leaf = new X509Certificate(readFileSync(join(certDir, 'portal.pem'), 'utf8'));
    expect(leaf.checkHost('localhost')).toBe('localhost');
    const samples = await scrapeMetrics(rq.url, tokens.metrics);
    expect(sampleSum(samples, 'countersign_acme_certificate_expiry_timestamp_seconds')).toBe(Date.parse(leaf.validTo) / 1000);
    // A transient failure before the success (CI once saw one, and then waited the whole check) is allowed; each one
    // counted is an alert line in the service's log, naming its cause.
    const failures = sampleSum(samples, 'countersign_acme_renewals_total', { outcome: 'failure' });
    const alerts = readFileSync(rq.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"alert":"portal-acme"'))
      .map((l) => JSON.parse(l) as { error: string });
    expect(alerts).toHaveLength(failures);
    if (failures) console.log(`the portal's first order failed ${failures} time(s) before it succeeded: ${alerts.map((a) => a.error).join('; ')}`);

    // The trust monitor's verdict names the portal's certificate (its serial), checked against pebble's root.
    await eventually(
      () =>
        expect(verdicts.at(-1)?.data.findings.find((f) => f.purpose === 'portal-https')).toMatchObject({
          owner: 'review-queue',
          status: 'ok',
          keyId: leaf.serialNumber,
        }),
      60_000,
    );
  });
});
