import { z } from 'zod';
import { settings } from '@countersign/config';
import { contractChangeSettings } from '@countersign/nest';
import { DEFAULT_CONTRACT_PATH, DEFAULT_DIFF_CORPUS_PATH } from './policy-engine.module';

/** The policy-engine's own settings, validated at boot beside the platform's (`baseSettings`); `main.ts` runs it with them. */
export const PolicyEngineSettings = z.object({
  CONTRACT_PATH: z.string().default(DEFAULT_CONTRACT_PATH),
  ...contractChangeSettings,
  /** The keys an approved contract change is signed with (docs/adr/0038); unset: no contract change can be approved (503). */
  CONTRACT_SIGNING_KEYS_FILE: z.string().min(1).optional(),
  /** The review queue's public keys: the degradation mode and trust health apply only when it sealed them (docs/adr/0039). */
  APPROVAL_VERIFY_KEYS_FILE: z.string().min(1),
  /** The keys every decision is sealed with; the executor and the review queue act only on sealed ones (docs/adr/0040). */
  DECISION_SIGNING_KEYS_FILE: z.string().min(1),
  /** First decisions and change requests (records of truth); `apps/policy-engine/migrations` are applied at boot. */
  DATABASE_URL: z.string().startsWith('postgres'),
  /** Rate-limit and aggregate windows and the agents' anomaly statistics only: what a flush may lose. */
  REDIS_URL: z.url(),
  REDIS_KEY_PREFIX: z.string().default(''),
  /** Mutual TLS to Redis, with a rediss:// REDIS_URL (all three, read at boot): the root to trust, this service's certificate chain and key (PEM files). */
  REDIS_TLS_CA_FILE: z.string().min(1).optional(),
  REDIS_TLS_CERT_FILE: z.string().min(1).optional(),
  REDIS_TLS_KEY_FILE: z.string().min(1).optional(),
  UNLEASH_URL: z.url(),
  UNLEASH_CLIENT_TOKEN: z.string().min(1),
  UNLEASH_REFRESH_MS: settings.number(1000, { min: 100, max: 600_000, integer: true }),
  FLAG_PREFIX: z.string().default('countersign.exec.'),
  AUTONOMY_FLAG_PREFIX: z.string().default('countersign.autonomy.'),
  FLAGS_BACKUP_DIR: z.string().default('.countersign/flags-backup'),
  /** Unleash's admin API, for autonomy changes and the drift watch (ADR 0014); without a token those answer 503. */
  UNLEASH_ADMIN_URL: z.url().optional(),
  UNLEASH_ADMIN_TOKEN: z.string().min(1).optional(),
  /** How often Unleash's events are polled for flags changed outside Countersign. */
  AUTONOMY_DRIFT_POLL_MS: settings.number(1000, { min: 100, max: 600_000, integer: true }),
  /** HMAC key (base64) that verifies scoped tokens of privileged action types; none: privileged actions are prohibited. */
  SCOPED_TOKEN_KEY: z.string().min(16).optional(),
  /** How long a decision is kept to answer a redelivered proposal with the same decision. */
  DECISION_TTL_SECONDS: settings.number(6 * 3600, { min: 60, max: 30 * 86_400, integer: true }),
  /** How long a contract change request waits for a second admin's approval. */
  CHANGE_REQUEST_TTL_SECONDS: settings.number(24 * 3600, { min: 60, max: 30 * 24 * 3600, integer: true }),
  /** The proposals (JSON Lines) every change request's `policy diff` runs over. */
  CHANGE_DIFF_CORPUS: z.string().default(DEFAULT_DIFF_CORPUS_PATH),
});
