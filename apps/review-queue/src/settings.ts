import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { settings } from '@countersign/config';
import { contractChangeSettings } from '@countersign/nest';
import { PROJECT_CONTRACT_PATH } from './degradation/degradation.providers';
import { WatchedKeyFiles } from './trust/key-file.source';
import { WatchedCertificates } from './trust/certificate-file.source';
import { parseReviewDataKey } from './review-item/sealed-proposal';

/** The reviewer portal's ACME settings, read beside these (`otherSettings`). */
export { PortalAcmeSettings } from './portal-tls/portal-tls.settings';

/** The review-queue's own settings, validated at boot beside the platform's (`baseSettings`); `main.ts` runs it with them. */
export const ReviewQueueSettings = z.object({
  /** The review items' PostgreSQL database (records of truth); `apps/review-queue/migrations` are applied at boot. */
  DATABASE_URL: z.string().startsWith('postgres'),
  /**
   * The review-decision signing keys, as a JSON file `[{keyId, privateKeyFile, notBefore, notAfter}]` (the shape of
   * AUDIT_SIGNING_KEYS_FILE): the newest key valid at a decision signs it; past every key's `notAfter` nothing is signed.
   */
  APPROVAL_SIGNING_KEYS_FILE: z.string().min(1),
  /** The policy engine's public decision keys: only a decision it sealed is queued for review (docs/adr/0040). */
  DECISION_VERIFY_KEYS_FILE: z.string().min(1),
  /** The executor's public outcome keys: only an outcome check it sealed is queued for a person (docs/adr/0042). */
  OUTCOME_VERIFY_KEYS_FILE: z.string().min(1),
  /** A file holding the 256-bit key (base64) that seals the real proposals of review items. */
  REVIEW_DATA_KEY_FILE: z
    .string()
    .min(1)
    .transform((file, ctx) => {
      try {
        return parseReviewDataKey(readFileSync(file, 'utf8'));
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as NodeJS.ErrnoException).code ? `cannot read ${file}` : (e as Error).message });
        return z.NEVER;
      }
    }),
  /** The backlog gauges, the reviewers on shift, the degradation controller's lease and the inbox's sessions: derived state (a flush signs reviewers out; the rest is rebuilt from PostgreSQL). */
  REDIS_URL: z.url(),
  REDIS_KEY_PREFIX: z.string().default(''),
  /** Mutual TLS to Redis, with a rediss:// REDIS_URL (all three, read at boot): the root to trust, this service's certificate chain and key (PEM files). */
  REDIS_TLS_CA_FILE: z.string().min(1).optional(),
  REDIS_TLS_CERT_FILE: z.string().min(1).optional(),
  REDIS_TLS_KEY_FILE: z.string().min(1).optional(),
  /** The operational contract at boot (the policy engines' file), then each approved change: SLA classes, degradation thresholds, decision quality, parameter schemas. */
  CONTRACT_PATH: z.string().default(PROJECT_CONTRACT_PATH),
  ...contractChangeSettings,
  /** How often the degradation controller decides (ms). */
  DEGRADATION_TICK_MS: settings.number(1_000, { min: 50, max: 60_000, integer: true }),
  /** How long a reviewer's heartbeat keeps them on shift (ms). */
  REVIEWER_HEARTBEAT_TTL_MS: settings.number(90_000, { min: 1_000, max: 3_600_000, integer: true }),
  /** How often the review clock looks for reviews to escalate or expire (ms). */
  REVIEW_CLOCK_PERIOD_MS: settings.number(1_000, { min: 50, max: 60_000, integer: true }),
  /** A webhook for escalation notices (Slack-compatible body, no action data but a link); unset: no notices. */
  REVIEW_ESCALATION_WEBHOOK_URL: z.string().url().optional(),
  /** The review inbox the notices link to (`<inbox>/reviews/<actionId>`). */
  REVIEW_INBOX_URL: z.string().url().default('http://localhost:8082'),
  /**
   * The OpenID Connect issuer reviewers sign in to the inbox with (`/reviews`; the redirect URI is
   * `<REVIEW_INBOX_URL>/auth/callback`); unset: no inbox, only the JSON API with bearer tokens.
   */
  OIDC_ISSUER_URL: z.string().url().optional(),
  OIDC_CLIENT_ID: z.string().min(1).default('countersign-inbox'),
  /** A file holding the client secret registered at the issuer. */
  OIDC_CLIENT_SECRET_FILE: z.string().min(1).optional(),
  /**
   * The trust monitor (ADR 0019): every other service's key files it watches besides this service's own approval
   * signing keys, as JSON `[{kind: "signing-key"|"verify-key", owner, purpose, file}]`.
   */
  TRUST_KEY_FILES: z
    .string()
    .default('[]')
    .transform((text, ctx) => {
      try {
        return WatchedKeyFiles.parse(JSON.parse(text));
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `a JSON array of {kind: "signing-key"|"verify-key", owner, purpose, file}: ${(e as Error).message}` });
        return z.NEVER;
      }
    }),
  /** The certificates the trust monitor watches (expiry, chain to their root), as JSON `[{owner, purpose, file, caFile}]`. */
  TRUST_CERT_FILES: z
    .string()
    .default('[]')
    .transform((text, ctx) => {
      try {
        return WatchedCertificates.parse(JSON.parse(text));
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `a JSON array of {owner, purpose, file, caFile}: ${(e as Error).message}` });
        return z.NEVER;
      }
    }),
  /** A certificate ending within this long is `rotation-due` (ms, default 2 hours). */
  TRUST_CERT_WARNING_MS: settings.number(2 * 3600_000, { min: 0, max: 365 * 86_400_000, integer: true }),
  /** How often the trust monitor checks every key file (ms): trust-sensitive work fails closed within about this long. */
  TRUST_CHECK_MS: settings.number(5_000, { min: 100, max: 300_000, integer: true }),
  /** How often an unchanged verdict is published again (ms): followers take one older than 3 of these as unknown. */
  TRUST_HEARTBEAT_MS: settings.number(30_000, { min: 1_000, max: 3_600_000, integer: true }),
  /** A key ending within this long with no successor listed is `rotation-due` (ms, default 7 days). */
  TRUST_ROTATION_WARNING_MS: settings.number(7 * 24 * 3600_000, { min: 0, max: 365 * 86_400_000, integer: true }),
  /** An inbox session ends after this long without a request (ms, default 15 min). */
  INBOX_IDLE_TIMEOUT_MS: settings.number(900_000, { min: 10_000, max: 86_400_000, integer: true }),
  /** The kill switches' flag prefix, as the executor's `FLAG_PREFIX`: a card whose type is switched off says so. */
  FLAG_PREFIX: z.string().default('countersign.exec.'),
});
