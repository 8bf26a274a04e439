import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { generateTreeHeadKey } from '@countersign/audit-chain';
import { loadSigningKeys, signingKeyFromPem, verifyKeyOf } from '@countersign/keys';
import type { VerifyKey } from '@countersign/keys';
import { join } from 'node:path';
import { Client } from 'pg';
import { withDatabase } from './database';
import { approvedSwitchOn } from './http';
import { stackEnv, TEST_TOPIC_PARTITIONS } from './env';
import { issueHttpsCertificates } from './https-certs';
import { prepareKafkaTls } from './kafka-tls';
import { issueRedisClientCertificates, redisTlsEnv } from './redis-tls';
import { RunningService, startServiceProcess } from './processes';
import { writeApprovalKeys, writeContractChangeKeys, writeDecisionKeys, writeOutcomeKeys, writeReviewDataKey, writeTokens } from './secrets';
import { unleashAdmin } from './unleash-admin';
import type { PrincipalSpec } from '@countersign/nest';

export const SERVICES = ['audit-writer', 'executor', 'review-queue', 'policy-engine', 'orchestrator'] as const;
export type ServiceName = (typeof SERVICES)[number];
/** The services that keep anything in Redis (the others get no Redis settings). */
export const REDIS_SERVICES: readonly ServiceName[] = ['policy-engine', 'review-queue'];

const ROOT = join(__dirname, '../../..');

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface DistributedOptions {
  /** Isolates topics, consumer groups, Redis keys, the database and flag names. */
  namespace: string;
  /**
   * Flags of the namespace that exist already keep their state (`npm run start:distributed` on its fixed namespace: a
   * kill switch turned off stayed off only until the next start, which turned every flag on). Tests use a new namespace.
   */
  keepFlags?: boolean;
  webhookUrl: string;
  actionTypes: string[];
  principals?: PrincipalSpec[];
  /** Where tokens, keys and logs go. */
  dir: string;
  unleashRefreshMs?: number;
  /** A signed tree head every N audit entries (and every second when anything is new). */
  headEveryEntries?: number;
  logLevel?: string;
  /** Extra settings for one service (e.g. a short execution lease for the fault harness). */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /**
   * `tls` (the default): Kafka over mTLS with ACLs, Redis over mTLS and HTTPS APIs (ADR 0026, ADR 0030). `plaintext`: none — only for a benchmark
   * that measures what TLS costs beside the same run on TLS (`bench:spine`).
   */
  transport?: 'tls' | 'plaintext';
  /** A port for a service's first instance, chosen beforehand (e.g. the review queue's, which an OIDC redirect URI names); others: free ones. */
  ports?: Partial<Record<ServiceName, number>>;
}

/**
 * The audit writer's tree-head keys in `dir` (`audit-heads.json`), kept from one run to the next: the namespace's audit
 * database outlives a run (`npm run start:distributed` uses one namespace), and the writer loads a log only when its
 * keys verify the newest head (`checkNewestHead` in apps/audit-writer), as a deployment keeps its key. A new key is made
 * when none is left that signs for another day, listed beside the old ones, which then only verify (a rotation).
 */
export function auditHeadKeys(dir: string, namespace: string): { headKeysFile: string; headKeys: VerifyKey[] } {
  const headKeysFile = join(dir, 'audit-heads.json');
  type Entry = { keyId: string; privateKeyFile: string; notBefore: string; notAfter: string };
  let listed: Entry[] = [];
  try {
    if (existsSync(headKeysFile)) listed = JSON.parse(readFileSync(headKeysFile, 'utf8')) as Entry[];
  } catch {
    listed = [];
  }
  // Each key on its own: one whose private key is gone is dropped, the others kept (they verify the heads they signed).
  const kept = (Array.isArray(listed) ? listed : []).filter((entry) => {
    try {
      signingKeyFromPem(entry.keyId, readFileSync(entry.privateKeyFile, 'utf8'), new Date(entry.notBefore), new Date(entry.notAfter));
      return true;
    } catch {
      return false;
    }
  });
  const dayAhead = new Date(Date.now() + 24 * 3600_000);
  if (!kept.some((k) => new Date(k.notBefore) <= new Date() && new Date(k.notAfter) > dayAhead)) {
    const now = Date.now();
    const headKey = generateTreeHeadKey(`audit-heads-${namespace}-${now}`, new Date(now - 60_000), new Date(now + 30 * 24 * 3600_000));
    const privateKeyFile = join(dir, `audit-heads-${now}.pem`);
    writeFileSync(privateKeyFile, headKey.privatePem, { mode: 0o600 });
    kept.push({ keyId: headKey.entry.keyId, privateKeyFile, notBefore: headKey.entry.notBefore.toISOString(), notAfter: headKey.entry.notAfter.toISOString() });
    writeFileSync(headKeysFile, JSON.stringify(kept), { mode: 0o600 });
  } else if (kept.length !== listed.length) writeFileSync(headKeysFile, JSON.stringify(kept), { mode: 0o600 });
  return { headKeysFile, headKeys: loadSigningKeys(headKeysFile).map(verifyKeyOf) };
}

/**
 * Starts the five services as separate processes against the real stack, in one namespace: its own
 * topics and groups, Redis key prefix, PostgreSQL database and Unleash flags (all created here).
 */
export async function startDistributed(o: DistributedOptions) {
  const env = stackEnv();
  const { tokens, tokensFile, signingKeys } = writeTokens(o.dir, o.principals);
  const keys = writeApprovalKeys(join(o.dir, 'keys'));
  const contractKeys = writeContractChangeKeys(join(o.dir, 'keys', 'contract-changes'));
  const decisionKeys = writeDecisionKeys(join(o.dir, 'keys'));
  const outcomeKeys = writeOutcomeKeys(join(o.dir, 'keys'));
  const { headKeysFile, headKeys } = auditHeadKeys(join(o.dir, 'keys'), o.namespace);

  const admin = new Client({ connectionString: env.databaseUrl });
  await admin.connect();
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [o.namespace]);
  if (!exists.rowCount) await admin.query(`CREATE DATABASE "${o.namespace}"`);
  await admin.end();

  const tls = (o.transport ?? 'tls') === 'tls';
  // Every service reaches Kafka over mTLS with its own certificate, limited by the ACLs of the topic table (ADR 0026).
  const kafkaTls = tls
    ? await prepareKafkaTls({
        admin: env.kafka,
        sslBrokers: env.kafkaSslBrokers,
        pkiDir: env.pkiDir,
        namespace: o.namespace,
        parties: SERVICES,
        dir: o.dir,
      })
    : undefined;
  // … and serves its API over HTTPS with a server certificate of the same PKI; clients trust the root (ADR 0026).
  const https = tls ? await issueHttpsCertificates({ pkiDir: env.pkiDir, names: SERVICES, dir: o.dir }) : undefined;
  // … and reaches Redis on its TLS port (client certificates required) with a client certificate of its own (ADR 0030).
  const redisTls = tls ? await issueRedisClientCertificates({ pkiDir: env.pkiDir, names: REDIS_SERVICES, dir: o.dir }) : undefined;
  // Without TLS, the plaintext listener with the admin's sign-in (it lets no anonymous client in).
  const tlsEnv = (app: ServiceName): Record<string, string> => {
    if (!kafkaTls || !https || !redisTls) return env.kafkaServiceEnv;
    const party = kafkaTls.party(app);
    return {
      ...(REDIS_SERVICES.includes(app) ? redisTlsEnv(redisTls[app]) : {}),
      KAFKA_BROKERS: party.brokers,
      KAFKA_TLS_CA_FILE: party.caFile,
      KAFKA_TLS_CERT_FILE: party.certFile,
      KAFKA_TLS_KEY_FILE: party.keyFile,
      HTTP_TLS_CERT_FILE: https[app].certFile,
      HTTP_TLS_KEY_FILE: https[app].keyFile,
    };
  };

  const flagPrefix = `${o.namespace}.exec.`;
  const autonomyPrefix = `${o.namespace}.autonomy.`;
  const flags = unleashAdmin(env.unleashUrl, env.unleashAdminToken);
  await flags.createAll(
    [
      ...o.actionTypes.map((t) => ({ name: `${flagPrefix}${t}`, enabled: true })),
      { name: `${autonomyPrefix}default`, enabled: true, variants: ['autonomous'] },
    ],
    { keepExisting: o.keepFlags },
  );

  const common: Record<string, string> = {
    KAFKA_NAMESPACE: o.namespace,
    KAFKA_TOPIC_PARTITIONS: String(TEST_TOPIC_PARTITIONS),
    AUTH_TOKENS_FILE: tokensFile,
    LOG_LEVEL: o.logLevel ?? 'info',
    REDIS_URL: env.redisUrl,
    REDIS_KEY_PREFIX: `${o.namespace}:`,
    DATABASE_URL: withDatabase(env.databaseUrl, o.namespace),
    AUDIT_DATABASE_URL: withDatabase(env.auditDatabaseUrl, o.namespace),
    UNLEASH_URL: env.unleashUrl,
    UNLEASH_CLIENT_TOKEN: env.unleashClientToken,
    UNLEASH_REFRESH_MS: String(o.unleashRefreshMs ?? 500),
    FLAG_PREFIX: flagPrefix,
    AUTONOMY_FLAG_PREFIX: autonomyPrefix,
    FLAGS_BACKUP_DIR: join(o.dir, 'flags-backup'),
    WEBHOOK_URL: o.webhookUrl,
    // The test targets (the sink, the chaos target) apply each Idempotency-Key once.
    WEBHOOK_IDEMPOTENT: 'true',
    APPROVAL_SIGNING_KEYS_FILE: keys.signingKeysFile,
    REVIEW_DATA_KEY_FILE: writeReviewDataKey(join(o.dir, 'keys')),
    APPROVAL_VERIFY_KEYS_FILE: keys.verifyKeysFile,
    CONTRACT_VERIFY_KEYS_FILE: contractKeys.verifyKeysFile,
    DECISION_VERIFY_KEYS_FILE: decisionKeys.verifyKeysFile,
    OUTCOME_VERIFY_KEYS_FILE: outcomeKeys.verifyKeysFile,
    AUDIT_SIGNING_KEYS_FILE: headKeysFile,
    AUDIT_HEAD_STORE_DIR: join(o.dir, 'tree-heads'),
    AUDIT_HEAD_EVERY_ENTRIES: String(o.headEveryEntries ?? 1000),
    AUDIT_HEAD_EVERY_MS: '1000',
    // The trust monitor (in the review queue, ADR 0019) watches every service's key files; checked each second here.
    TRUST_KEY_FILES: JSON.stringify([
      { kind: 'verify-key', owner: 'executor', purpose: 'approval-verify', file: keys.verifyKeysFile },
      { kind: 'signing-key', owner: 'audit-writer', purpose: 'audit-tree-head', file: headKeysFile },
      { kind: 'signing-key', owner: 'policy-engine', purpose: 'contract-change-signing', file: contractKeys.signingKeysFile },
      { kind: 'signing-key', owner: 'policy-engine', purpose: 'decision-signing', file: decisionKeys.signingKeysFile },
      { kind: 'signing-key', owner: 'executor', purpose: 'outcome-signing', file: outcomeKeys.signingKeysFile },
    ]),
    TRUST_CHECK_MS: '1000',
    // … and every service's Kafka and Redis client certificates and HTTPS server certificate (its end, its chain to the stack's root).
    TRUST_CERT_FILES: JSON.stringify(
      kafkaTls && https && redisTls
        ? [
            ...SERVICES.map((s) => ({ owner: s, purpose: 'kafka-client', file: kafkaTls.party(s).certFile, caFile: kafkaTls.party(s).caFile })),
            ...SERVICES.map((s) => ({ owner: s, purpose: 'https-server', file: https[s].certFile, caFile: https[s].caFile })),
            ...REDIS_SERVICES.map((s) => ({ owner: s, purpose: 'redis-client', file: redisTls[s].certFile, caFile: redisTls[s].caFile })),
          ]
        : [],
    ),
  };
  const running: RunningService[] = [];
  const urls = {} as Record<ServiceName, string>;
  // The orchestrator, the executor and the audit writer keep nothing in Redis (their records are in PostgreSQL): they get no Redis settings.
  const { REDIS_URL: _redisUrl, REDIS_KEY_PREFIX: _redisPrefix, ...withoutRedis } = common;
  // The contract-change and decision signing keys are the policy engine's alone, the outcome key the executor's; the
  // others verify with their public halves.
  const own = (app: ServiceName): Record<string, string> =>
    app === 'policy-engine'
      ? { CONTRACT_SIGNING_KEYS_FILE: contractKeys.signingKeysFile, DECISION_SIGNING_KEYS_FILE: decisionKeys.signingKeysFile }
      : app === 'executor'
        ? { OUTCOME_SIGNING_KEYS_FILE: outcomeKeys.signingKeysFile }
        : {};
  const envOf = (app: ServiceName) => ({ ...(REDIS_SERVICES.includes(app) ? common : withoutRedis), ...own(app), ...tlsEnv(app), ...o.serviceEnv?.[app] });
  const start = async (app: ServiceName, instance?: string) => {
    const port = (!instance && o.ports?.[app]) || (await freePort());
    const svc = await startServiceProcess(app, envOf(app), { port, logDir: join(o.dir, 'logs'), instance });
    running.push(svc);
    return svc;
  };
  try {
    // Two at a time: quicker than one by one, gentler than five at once on two cores.
    for (let i = 0; i < SERVICES.length; i += 2) {
      const started = await Promise.all(SERVICES.slice(i, i + 2).map((s) => start(s)));
      started.forEach((svc, j) => (urls[SERVICES[i + j]] = svc.url));
    }
  } catch (e) {
    await Promise.all(running.map((s) => s.stop('SIGKILL')));
    await kafkaTls?.close().catch(() => undefined);
    throw e;
  }
  return {
    /** `https://127.0.0.1:<port>` per service: clients trust `ca` (the stack's root), e.g. `call` and `testFetch` do. */
    urls,
    /** The root every service's HTTPS certificate chains to (PEM), and its file. */
    ca: https ? readFileSync(https[SERVICES[0]].caFile, 'utf8') : '',
    caFile: https ? https[SERVICES[0]].caFile : '',
    /** Each service's HTTPS certificate and key files (a test may renew them: the service reloads them). */
    httpsFiles: https ?? ({} as NonNullable<typeof https>),
    tokens,
    /** Private keys of the principals that sign what they produce straight to Kafka (the default agent does). */
    signingKeys,
    keys,
    headKeys,
    flags,
    flagPrefix,
    autonomyPrefix,
    /**
     * Turns an action type's kill switch on again the approved way: one admin asks, another approves the request's
     * digest (a switch turned on directly in Unleash is set back by the drift watcher, ADR 0014); resolves once the
     * services' Unleash clients can see it on.
     */
    switchOn: async (actionType: string) => {
      await approvedSwitchOn(urls['policy-engine'], actionType, { requester: tokens.admin, approver: tokens.admin2 });
      await flags.visible(`${flagPrefix}${actionType}`, true);
    },
    /** The settings every service shares (Kafka's are per service: `envOf`; the test's own clients use `stackEnv().kafka`). */
    env: common,
    /** One service's full settings as it was started (its mTLS certificate included): a restart uses these. */
    envOf,
    running,
    /** Starts one more instance of a service: it joins the same consumer groups. */
    startInstance: (app: ServiceName, instance: string) => start(app, instance),
    stop: async () => {
      await Promise.all(running.map((s) => s.stop()));
      await kafkaTls?.close().catch(() => undefined);
    },
    /** Removes the namespace's database (after `stop`). */
    dropDatabase: async () => {
      const c = new Client({ connectionString: env.databaseUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${o.namespace}" WITH (FORCE)`).catch(() => undefined);
      await c.end();
    },
    root: ROOT,
  };
}
