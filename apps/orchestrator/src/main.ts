import 'reflect-metadata';
import { join } from 'node:path';
import { watchVerifyKeys } from '@countersign/keys';
import { contractChangeKeys, runService } from '@countersign/nest';
import { migrate, startOnNewerSchema } from '@countersign/storage';
import { createActionViewRepository } from './actions/pg-action-view.repository';
import { OrchestratorModule } from './orchestrator.module';
import { createIdempotencyRepository } from './proposals/pg-idempotency.repository';
import { OrchestratorSettings } from './settings';
import { proposalRateOf } from './proposals/proposal-rate.settings';

/** How often keys past their expiry are deleted (they read as absent meanwhile). */
const SWEEP_EVERY_MS = 15 * 60_000;

void runService({
  service: 'orchestrator',
  defaultPort: 8080,
  settings: OrchestratorSettings,
  async build({ config, logger, pgPool }) {
    await migrate(config.DATABASE_URL, { service: 'orchestrator', dir: join(__dirname, '../migrations'), onNewer: startOnNewerSchema(logger) }, (msg) =>
      logger.info(msg),
    );
    const pool = pgPool(config.DATABASE_URL);
    const idempotency = createIdempotencyRepository(pool, config.IDEMPOTENCY_TTL_SECONDS);
    const sweep = setInterval(
      () => void idempotency.deleteExpired().catch((err: Error) => logger.warn({ err }, 'expired idempotency keys not deleted; next time')),
      SWEEP_EVERY_MS,
    ).unref();
    return {
      modules: [
        OrchestratorModule.register({
          contractPath: config.CONTRACT_PATH,
          contractChangeKeys: contractChangeKeys(config.CONTRACT_VERIFY_KEYS_FILE),
          approvalKeys: watchVerifyKeys(config.APPROVAL_VERIFY_KEYS_FILE),
          decisionKeys: watchVerifyKeys(config.DECISION_VERIFY_KEYS_FILE),
          outcomeKeys: watchVerifyKeys(config.OUTCOME_VERIFY_KEYS_FILE),
          actionViews: createActionViewRepository(pool),
          idempotency,
          proposalRate: proposalRateOf(config),
        }),
      ],
      readiness: [{ name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 }],
      close: async () => {
        clearInterval(sweep);
        await pool.end();
      },
    };
  },
});
