import { join } from 'node:path';
import { z } from 'zod';
import { settings } from '@countersign/config';
import { contractChangeSettings } from '@countersign/nest';
import { DEFAULT_KEEP_EVERY_MS } from './chain/spaced-head-store';

/** The audit-writer's own settings, validated at boot beside the platform's (`baseSettings`); `main.ts` runs it with them. */
export const AuditWriterSettings = z.object({
  /** The owner's connection, used only to create the tables and their grants. */
  DATABASE_URL: z.string().startsWith('postgres'),
  /** The restricted role's connection (INSERT and SELECT on the log), for appends and queries. */
  AUDIT_DATABASE_URL: z.string().startsWith('postgres'),
  AUDIT_DB_ROLE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case role name')
    .default('countersign_audit'),
  /**
   * The tree-head signing keys, as a JSON file `[{keyId, privateKeyFile, notBefore, notAfter}]`: list the
   * next key beside the current one, with overlapping windows, to rotate without a gap. Past every key's
   * `notAfter` (its rotation deadline) heads are no longer signed (fail closed) and an alert is logged.
   */
  AUDIT_SIGNING_KEYS_FILE: z.string().min(1),
  /** The policy engine's decision keys and the review queue's keys: an event that claims to be theirs without their seal or signature is recorded apart (docs/adr/0040). */
  DECISION_VERIFY_KEYS_FILE: z.string().min(1),
  APPROVAL_VERIFY_KEYS_FILE: z.string().min(1),
  /** The executor's outcome keys: an outcome without its seal is recorded apart (docs/adr/0042). */
  OUTCOME_VERIFY_KEYS_FILE: z.string().min(1),
  /** The policy engine's contract-change keys: unset, every contract change is recorded apart, as not vouched for. */
  ...contractChangeSettings,
  AUDIT_HEAD_STORE_DIR: z.string().min(1),
  AUDIT_HEAD_EVERY_ENTRIES: settings.number(1000, { min: 1, max: 1_000_000, integer: true }),
  AUDIT_HEAD_EVERY_MS: settings.number(5000, { min: 1, max: 3_600_000, integer: true }),
  /** How far apart the heads kept in AUDIT_HEAD_STORE_DIR are, at least (one file each; 0 keeps every head). */
  AUDIT_HEAD_STORE_EVERY_MS: settings.number(DEFAULT_KEEP_EVERY_MS, { min: 0, max: 86_400_000, integer: true }),
  /** How long the boot waits for PostgreSQL (to migrate) before it gives up and exits 1; 5 minutes by default. */
  BOOT_DEPENDENCY_TIMEOUT_MS: settings.number(300_000, { min: 1, max: 3_600_000, integer: true }),
  /**
   * The contract the policy engines load (their CONTRACT_PATH): read for its national-id patterns, which every entry
   * is masked with (`masking.nationalIds`). The writer does not follow approved changes of them: the services that
   * publish the events (the review queue, the orchestrator, the policy engine) do, and mask before they publish.
   */
  CONTRACT_PATH: z.string().default(join(__dirname, '../../policy-engine/contract/countersign.contract.yaml')),
});
