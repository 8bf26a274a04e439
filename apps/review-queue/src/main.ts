import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigOrExit } from '@countersign/config';
import { watchSigningKeys, watchVerifyKeys } from '@countersign/keys';
import { contractChangeKeys, runService, warnRolesGrantingNothing } from '@countersign/nest';
import { contractRoles, RunningContract } from '@countersign/policy';
import { createRedis, migrate, readRedisTls, startOnNewerSchema } from '@countersign/storage';
import { degradationContract } from './degradation/degradation.providers';
import { createReviewHistory } from './degradation/pg-review-history';
import { createBacklogGauges } from './degradation/redis-backlog-gauges';
import { decisionQualityContract } from './decision-quality/decision-quality';
import { createDecisionQualityStore } from './decision-quality/pg-decision-quality.store';
import { createLeaderLease, createTrustLease } from './degradation/redis-leader-lease';
import { PortalAcmeSettings, portalTlsOptions } from './portal-tls/portal-tls.settings';
import { createReviewItemRepository } from './review-item/pg-review-item.repository';
import { createWebhookEscalationNotifier } from './review-clock/webhook-escalation-notifier';
import { keepRemovals } from './principal-roster/principal-roster';
import { createPrincipalRoster } from './principal-roster/pg-principal-roster';
import { ReviewQueueModule } from './review-queue.module';
import { createSessionStore } from './inbox/redis-session.store';
import { ReviewQueueSettings } from './settings';

const failMissing = (name: string): never => {
  throw new Error(`${name} is required when OIDC_ISSUER_URL is set`);
};

// The portal's ACME settings (ADR 0027), validated before anything starts (one line and exit 1); none set: no ACME.
const portalAcme = loadConfigOrExit(PortalAcmeSettings);

void runService({
  service: 'review-queue',
  otherSettings: [PortalAcmeSettings],
  defaultPort: 8082,
  settings: ReviewQueueSettings,
  async build({ config, logger, pgPool, tokens, tokensWatch }) {
    const portalTls = portalTlsOptions(portalAcme);
    await migrate(config.DATABASE_URL, { service: 'review-queue', dir: join(__dirname, '../migrations'), onNewer: startOnNewerSchema(logger) }, (msg) =>
      logger.info(msg),
    );
    const pool = pgPool(config.DATABASE_URL);
    // Who was taken out of the tokens file, across restarts: their approvals, agents, claims and sessions count for nothing.
    const removals = await keepRemovals(tokens, tokensWatch, createPrincipalRoster(pool), { logger });
    // Read again when the file changes: a rotated key signs without a restart, an expired one stops at once (ADR 0019).
    // Looked at (one stat) at every use, not once a second: a decision right after a rotation signs with what the file
    // lists then, the same that the trust monitor reads, never with the key it replaced.
    const signingKeys = watchSigningKeys(config.APPROVAL_SIGNING_KEYS_FILE, 0);
    const redis = createRedis(config.REDIS_URL, { keyPrefix: config.REDIS_KEY_PREFIX, logger, tls: readRedisTls(config) });
    // The contract as the policy engines run it: the file, then each approved change (SLA classes, thresholds, sampling).
    const contract = RunningContract.fromFile(config.CONTRACT_PATH);
    // A role in the tokens file that no route and no review reads is said at start and at each reload (a typo grants nothing).
    warnRolesGrantingNothing(tokens, tokensWatch, () => contractRoles(contract.current()), logger);
    return {
      modules: [
        ReviewQueueModule.register({
          items: createReviewItemRepository(pool),
          signingKeys,
          decisionKeys: watchVerifyKeys(config.DECISION_VERIFY_KEYS_FILE),
          outcomeKeys: watchVerifyKeys(config.OUTCOME_VERIFY_KEYS_FILE),
          dataKey: config.REVIEW_DATA_KEY_FILE,
          contract,
          contractChangeKeys: contractChangeKeys(config.CONTRACT_VERIFY_KEYS_FILE),
          killSwitchPrefix: config.FLAG_PREFIX,
          clock: { periodMs: config.REVIEW_CLOCK_PERIOD_MS },
          degradation: {
            gauges: createBacklogGauges(redis),
            lease: createLeaderLease(redis),
            history: createReviewHistory(pool),
            contract: degradationContract(contract),
            settings: { tickMs: config.DEGRADATION_TICK_MS, heartbeatTtlMs: config.REVIEWER_HEARTBEAT_TTL_MS },
          },
          trust: {
            lease: createTrustLease(redis),
            keyFiles: [
              { kind: 'signing-key', owner: 'review-queue', purpose: 'approval-signing', file: config.APPROVAL_SIGNING_KEYS_FILE },
              ...config.TRUST_KEY_FILES,
            ],
            rotationWarningMs: config.TRUST_ROTATION_WARNING_MS,
            // The portal's certificate too, against the ACME root, when PORTAL_ACME_ROOT_FILE names it.
            certificates: [...config.TRUST_CERT_FILES, ...(portalTls?.watched ? [portalTls.watched] : [])],
            certificateWarningMs: config.TRUST_CERT_WARNING_MS,
            settings: { checkMs: config.TRUST_CHECK_MS, heartbeatMs: config.TRUST_HEARTBEAT_MS },
          },
          // Dwell, canaries, second reviews and the governance page (ADR 0018), with the contract's `decisionQuality:`.
          decisionQuality: { store: createDecisionQualityStore(pool), contract: decisionQualityContract(contract) },
          ...(config.OIDC_ISSUER_URL && {
            inbox: {
              issuer: config.OIDC_ISSUER_URL,
              clientId: config.OIDC_CLIENT_ID,
              clientSecret: readFileSync(config.OIDC_CLIENT_SECRET_FILE ?? failMissing('OIDC_CLIENT_SECRET_FILE'), 'utf8').trim(),
              publicUrl: config.REVIEW_INBOX_URL.replace(/\/$/, ''),
              // In Redis: every instance knows every session, and a restart signs nobody out.
              sessions: createSessionStore(redis),
              idleTimeoutMs: config.INBOX_IDLE_TIMEOUT_MS,
            },
          }),
          ...(portalTls && { portalTls }),
          ...(config.REVIEW_ESCALATION_WEBHOOK_URL && {
            notifier: createWebhookEscalationNotifier({ url: config.REVIEW_ESCALATION_WEBHOOK_URL, inboxUrl: config.REVIEW_INBOX_URL, logger }),
          }),
        }),
      ],
      // Redis holds only derived state (gauges, the lease): its outage stops the controller deciding, not the review queue.
      readiness: [{ name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 }],
      close: async () => {
        removals.stop();
        redis.disconnect();
        await pool.end();
      },
    };
  },
});
