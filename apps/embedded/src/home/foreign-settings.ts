import { AuditWriterSettings } from '@countersign/audit-writer';
import { ExecutorSettings } from '@countersign/executor';
import { baseSettings } from '@countersign/nest';
import { OrchestratorSettings } from '@countersign/orchestrator';
import { PolicyEngineSettings } from '@countersign/policy-engine';
import { PortalAcmeSettings, ReviewQueueSettings } from '@countersign/review-queue';

/** Every setting a distributed service reads at boot: the platform's and each service's own (their `settings.ts`). */
const DISTRIBUTED_SETTINGS = new Set(
  [baseSettings, OrchestratorSettings, PolicyEngineSettings, ReviewQueueSettings, PortalAcmeSettings, ExecutorSettings, AuditWriterSettings].flatMap((s) =>
    Object.keys(s.shape),
  ),
);

/**
 * The distributed services' settings set in `env` that the embedded mode does not read (`own` are the ones it does),
 * sorted. An operator who set `WEBHOOK_URL` or `EXECUTION_MAX_HOLD_SECONDS` for it was told nothing, and its stand-in
 * target and defaults applied (operator probe, 2026-12-07): the main names them once at start.
 */
export function foreignSettings(env: Record<string, string | undefined>, own: Iterable<string>): string[] {
  const read = new Set(own);
  return Object.keys(env)
    .filter((name) => env[name] !== undefined && DISTRIBUTED_SETTINGS.has(name) && !read.has(name))
    .sort();
}
