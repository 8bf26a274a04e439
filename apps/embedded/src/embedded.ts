import 'reflect-metadata';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { generateSigningKey } from '@countersign/approval';
import { verifyKeyEntry } from '@countersign/keys';
import { generateTreeHeadKey, KeyRing } from '@countersign/audit-chain';
import { AuditWriterModule, createFileAuditLog, createFileHeadStore } from '@countersign/audit-writer';
import { InMemoryBus } from '@countersign/bus';
import { ConnectorRegistry, createInMemoryExecutionRepository, ExecutorModule, WebhookConnector } from '@countersign/executor';
import { createFileFlagReader, FlagFile, reportFlagHealth } from '@countersign/flags';
import { createLogger, Logger } from '@countersign/logging';
import { PlatformModule, serve, TokenRegistry, TokensFileSchema, writeTokens } from '@countersign/nest';
import { createInMemoryActionViewRepository, createInMemoryIdempotencyRepository, OrchestratorModule } from '@countersign/orchestrator';
import {
  actionTypesOf,
  createInMemoryChangeRequestStore,
  createInMemoryDecisionRepository,
  createInMemoryRateLimiter,
  DEFAULT_CONTRACT_PATH,
  PolicyEngineModule,
} from '@countersign/policy-engine';
import { createInMemoryReviewItemRepository, generateReviewDataKey, parseReviewDataKey, ReviewQueueModule } from '@countersign/review-queue';
import { sinkToken } from './sink/sink-token';
import { SinkStore } from './sink/sink-store';
import { WebhookSinkController } from './sink/webhook-sink.controller';

export interface EmbeddedOptions {
  /** Where tokens, the flag file and the audit file live (default `.countersign/embedded`). */
  home: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  logger?: Logger;
  contractPath?: string;
}

export const FLAG_PREFIX = 'countersign.exec.';
export const AUTONOMY_PREFIX = 'countersign.autonomy.';

/**
 * All five services in one process: the in-process bus and stores, a local flag file and a local
 * append-only audit file. Needs nothing but Node.
 */
export async function startEmbedded(options: EmbeddedOptions) {
  const home = options.home;
  mkdirSync(home, { recursive: true });
  const logger = options.logger ?? createLogger('countersign-embedded');
  const contractPath = options.contractPath ?? DEFAULT_CONTRACT_PATH;

  const tokensFile = join(home, 'tokens.json');
  if (!existsSync(tokensFile)) writeTokens(home);
  // The stand-in target has a token of its own (tokens/sink), known only to the connector and the user.
  const sink = sinkToken(home);
  const tokens = new TokenRegistry([...TokensFileSchema.parse(JSON.parse(readFileSync(tokensFile, 'utf8'))), sink.entry]);

  const flagsFile = join(home, 'flags.json');
  if (!existsSync(flagsFile)) writeFileSync(flagsFile, JSON.stringify(defaultFlags(actionTypesOf(contractPath)), null, 2));
  const bus = new InMemoryBus({ logger, source: 'countersign-embedded' });
  // An unreadable or invalid flag file turns every flag unknown (execution fails closed): logged at error and audited.
  const flags = createFileFlagReader(flagsFile, {
    onHealth: reportFlagHealth({ service: 'countersign-embedded', logger, emit: (topic, data, o) => bus.emit(topic, data, o) }),
  });
  await flags.ready(5_000);

  // The key that seals the real proposals of review items (revealed only to pii:view): made on the first start, kept in the home.
  const dataKeyFile = join(home, 'keys', 'review-data.key');
  if (!existsSync(dataKeyFile)) {
    mkdirSync(join(home, 'keys'), { recursive: true, mode: 0o700 });
    writeFileSync(dataKeyFile, generateReviewDataKey(), { mode: 0o600 });
  }
  const dataKey = parseReviewDataKey(readFileSync(dataKeyFile, 'utf8'));

  const { signing, verifyKey } = generateSigningKey('embedded-approvals');
  // A fresh tree-head key per start, valid for a year; its public half is written for offline verification.
  const auditKey = generateTreeHeadKey(`embedded-heads-${Date.now()}`, new Date(Date.now() - 60_000), new Date(Date.now() + 365 * 24 * 3600 * 1000));
  mkdirSync(join(home, 'audit', 'keys'), { recursive: true });
  writeFileSync(join(home, 'audit', 'keys', `${auditKey.entry.keyId}.json`), JSON.stringify(verifyKeyEntry(auditKey.entry)));
  let baseUrl = '';

  @Module({ controllers: [WebhookSinkController], providers: [SinkStore], exports: [SinkStore] })
  class SinkModule {}

  @Module({
    imports: [
      PlatformModule.forRoot({ service: 'countersign-embedded', bus, logger, tokens }),
      OrchestratorModule.register({ contractPath, actionViews: createInMemoryActionViewRepository(), idempotency: createInMemoryIdempotencyRepository() }),
      PolicyEngineModule.register({
        contractPath,
        flags,
        flagNames: { execPrefix: FLAG_PREFIX, autonomyPrefix: AUTONOMY_PREFIX },
        rateLimiter: createInMemoryRateLimiter(),
        decisions: createInMemoryDecisionRepository(),
        changeControl: { requests: createInMemoryChangeRequestStore() },
      }),
      ReviewQueueModule.register({ items: createInMemoryReviewItemRepository(), signingKeys: [signing], dataKey }),
      ExecutorModule.register({
        executions: createInMemoryExecutionRepository(),
        connectors: new ConnectorRegistry(new WebhookConnector(() => `${baseUrl}/_sink/effects`, undefined, { Authorization: `Bearer ${sink.token}` })),
        flags,
        flagPrefix: FLAG_PREFIX,
        approvalKeys: [verifyKey],
      }),
      AuditWriterModule.register({
        log: createFileAuditLog(join(home, 'audit', 'audit.jsonl')),
        keys: new KeyRing([auditKey.entry], (reason) => logger.error({ alert: 'audit-signing-key' }, reason)),
        headStore: createFileHeadStore(join(home, 'audit', 'heads')),
        headPolicy: { everyEntries: 100, everyMs: 2_000 },
      }),
      SinkModule,
    ],
  })
  class EmbeddedRoot {}

  const host = options.host ?? '127.0.0.1';
  const { app, port } = await serve(EmbeddedRoot, logger, { host, port: options.port ?? 8080 });
  baseUrl = `http://${host}:${port}`;
  return {
    url: baseUrl,
    home,
    flagsFile,
    /** The flags as the services read them (tests wait on it after editing the file). */
    flags,
    sink: app.get(SinkStore),
    /** The in-process bus, where an agent could produce proposals straight to the proposals topic (tests do). */
    bus,
    close: async () => {
      await app.close();
      await bus.close();
      await flags.close();
    },
  };
}

/** The flag file a first start writes: every action type in the contract may execute, with full autonomy. */
function defaultFlags(actionTypes: string[]): FlagFile {
  return {
    features: [
      ...actionTypes.map((t) => ({ name: `${FLAG_PREFIX}${t}`, enabled: true })),
      { name: `${AUTONOMY_PREFIX}default`, enabled: true, variants: [{ name: 'autonomous', weight: 1000, stickiness: 'default', weightType: 'variable' }] },
    ],
  };
}
