import { join } from 'node:path';
import { z } from 'zod';
import { settings } from '@countersign/config';
import { contractChangeSettings } from '@countersign/nest';
import { proposalRateSettings } from './proposals/proposal-rate.settings';

/** The contract the policy engines load by default (their CONTRACT_PATH): set both to the same file. */
const DEFAULT_CONTRACT_PATH = join(__dirname, '../../policy-engine/contract/countersign.contract.yaml');

/** The orchestrator's own settings, validated at boot beside the platform's (`baseSettings`); `main.ts` runs it with them. */
export const OrchestratorSettings = z.object({
  /** Idempotency keys and action views (records of truth); `apps/orchestrator/migrations` are applied at boot. */
  DATABASE_URL: z.string().startsWith('postgres'),
  /** How long a client's Idempotency-Key returns the action of its first request. */
  IDEMPOTENCY_TTL_SECONDS: settings.number(24 * 3600, { min: 60, max: 365 * 86_400, integer: true }),
  CONTRACT_PATH: z.string().default(DEFAULT_CONTRACT_PATH),
  /** The per-principal rate of `POST /v1/proposals` on this instance (docs/adr/0048). */
  ...proposalRateSettings(),
  ...contractChangeSettings,
  /** The review queue's public keys: review decisions and revisions that do not verify change no action here. */
  APPROVAL_VERIFY_KEYS_FILE: z.string().min(1),
  /** The policy engine's public decision keys: a decision it did not seal is not on an action's timeline (docs/adr/0040). */
  DECISION_VERIFY_KEYS_FILE: z.string().min(1),
  /** The executor's public outcome keys: only an outcome it sealed is on an action's timeline (docs/adr/0042). */
  OUTCOME_VERIFY_KEYS_FILE: z.string().min(1),
});
