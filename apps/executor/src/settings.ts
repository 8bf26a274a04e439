import { join } from 'node:path';
import { z } from 'zod';
import { settings } from '@countersign/config';
import { contractChangeSettings } from '@countersign/nest';

/** The executor's own settings, validated at boot beside the platform's (`baseSettings`); `main.ts` runs it with them. */
export const ExecutorSettings = z
  .object({
    DATABASE_URL: z.string().startsWith('postgres'),
    WEBHOOK_URL: z.url(),
    /** The public keys that verify review decisions, as a JSON file `[{keyId, publicKeyPem, notBefore, notAfter}]`. */
    APPROVAL_VERIFY_KEYS_FILE: z.string().min(1),
    /** The policy engine's public decision keys: only a decision it sealed is acted on (docs/adr/0040). */
    DECISION_VERIFY_KEYS_FILE: z.string().min(1),
    /** The executor's own keys, `[{keyId, privateKeyFile, notBefore, notAfter}]`: every outcome it publishes is sealed with one (docs/adr/0042). */
    OUTCOME_SIGNING_KEYS_FILE: z.string().min(1),
    UNLEASH_URL: z.url(),
    UNLEASH_CLIENT_TOKEN: z.string().min(1),
    UNLEASH_REFRESH_MS: settings.number(1000, { min: 100, max: 600_000, integer: true }),
    FLAG_PREFIX: z.string().default('countersign.exec.'),
    /** The policy engine's autonomy flags (its `AUTONOMY_FLAG_PREFIX`): a level lowered since a decision stops it. */
    AUTONOMY_FLAG_PREFIX: z.string().default('countersign.autonomy.'),
    /** The contract the policy engines load (their CONTRACT_PATH): an autonomous decision is checked against it, and its approved changes. */
    CONTRACT_PATH: z.string().default(join(__dirname, '../../policy-engine/contract/countersign.contract.yaml')),
    ...contractChangeSettings,
    FLAGS_BACKUP_DIR: z.string().default('.countersign/flags-backup'),
    /** How long the webhook target has to answer before the outcome is unknown. */
    WEBHOOK_TIMEOUT_MS: settings.number(10_000, { min: 100, max: 600_000, integer: true }),
    /**
     * Whether the webhook target applies an action once per Idempotency-Key (so an unknown outcome is settled by
     * re-sending under the key; otherwise it is held for an operator). No default: only the target's owner knows.
     */
    WEBHOOK_IDEMPOTENT: settings.requiredBool(),
    /** How long an action may stay `executing` before it is taken for stranded and reconciled. */
    EXECUTION_LEASE_MS: settings.number(60_000, { min: 100, max: 86_400_000, integer: true }),
    /** How often the reconciler looks for stranded and unknown outcomes. */
    RECONCILE_PERIOD_MS: settings.number(5_000, { min: 10, max: 600_000, integer: true }),
    /** How long a decision or approval holds while its execution is held (halted mode, an unhealthy trust stack): then refused. */
    EXECUTION_MAX_HOLD_SECONDS: settings.number(86_400, { min: 60, max: 30 * 86_400, integer: true }),
  })
  .superRefine((c, ctx) => {
    // A live call must end (answer or time out) within the lease, or the reconciler would re-send it while it runs.
    if (c.EXECUTION_LEASE_MS <= c.WEBHOOK_TIMEOUT_MS)
      ctx.addIssue({ code: 'custom', path: ['EXECUTION_LEASE_MS'], message: `must exceed WEBHOOK_TIMEOUT_MS (${c.WEBHOOK_TIMEOUT_MS})` });
  });
