import 'reflect-metadata';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { loadVerifyKeys, verifyKeyEntry, verifyKeyOf } from '@countersign/keys';
import { KeyRing } from '@countersign/audit-chain';
import { AuditWriterModule, createFileAuditLog, createFileHeadStore, spacedHeadStore } from '@countersign/audit-writer';
import { createPgBrokerStore, InMemoryBroker, InMemoryBus } from '@countersign/bus';
import { ConnectorRegistry, createExecutionRepository, ExecutorModule, WebhookConnector } from '@countersign/executor';
import { createFileFlagReader, FlagControls, FlagFile, reportFlagHealth, withFlagControls } from '@countersign/flags';
import { createLogger, Logger } from '@countersign/logging';
import { createMetrics } from '@countersign/metrics';
import {
  auditTokensReloads,
  ConsumerStates,
  HttpsFiles,
  PlatformModule,
  serve,
  servedRoutes,
  TokenRegistry,
  TrustHealthState,
  trustReadinessSignal,
  warnRolesGrantingNothing,
  watchTokensFile,
  writeTokens,
} from '@countersign/nest';
import { contractRoles, RunningContract } from '@countersign/policy';
import { createActionViewRepository, createIdempotencyRepository, EMBEDDED_PROPOSAL_RATE, OrchestratorModule, ProposalRate } from '@countersign/orchestrator';
import {
  actionTypesOf,
  createChangeRequestStore,
  createDecisionRepository,
  createFileFlagAdmin,
  createInMemoryAgentStats,
  DEFAULT_CONTRACT_PATH,
  PolicyEngineModule,
} from '@countersign/policy-engine';
import {
  createDecisionQualityStore,
  createInMemoryBacklogGauges,
  createInMemoryLeaderLease,
  DEFAULT_ROTATION_WARNING_MS,
  KeyListSource,
  createReviewHistory,
  createPrincipalRoster,
  createReviewItemRepository,
  decisionQualityContract,
  degradationContract,
  keepRemovals,
  ReviewQueueModule,
} from '@countersign/review-queue';
import type { EmbeddedDatabase } from '@countersign/storage';
import { EMBEDDED_READ_RATE, ReadLimits } from '@countersign/limits';
import { DatabaseUpkeep } from './home/database-upkeep';
import { openHomeDatabase } from './home/home-database';
import { HomeLock } from './home/home-lock';
import { HOME_PRINCIPALS } from './home/home-principals';
import { HomeKeys, readHomeKeys } from './home/home-keys';
import { fileSha256, inspectHome, MANIFEST_FILE, recordHome } from './home/home-manifest';
import { defaultWitnessDir, HomeProgress } from './home/home-progress';
import { embeddedFlagsReadiness, holdingNoConsumer } from './home/flags-readiness';
import { warnMissingKillSwitches } from './home/missing-flags';
import { checkPorts, prepareHome, StartRefusedError } from './home/start-checks';
import { readHomeTokens, unusableTokenFiles } from './home/home-tokens';
import { createPgRateLimiter } from './rate-limit/pg-rate-limiter';
import { sinkToken } from './sink/sink-token';
import { SinkStore } from './sink/sink-store';
import { localIdentity } from './identity/local-identity';
import { WebhookSinkController } from './sink/webhook-sink.controller';

export interface EmbeddedOptions {
  /** Where tokens, the flag file and the audit file live (default `.countersign/embedded`). */
  home: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /**
   * HTTPS with this certificate chain and key (PEM files, reloaded when renewed); plain HTTP on loopback without (the
   * local development default). The in-process target stand-in is reached over the same URL: a certificate of a private
   * CA needs that root in NODE_EXTRA_CA_CERTS.
   */
  tls?: HttpsFiles;
  logger?: Logger;
  contractPath?: string;
  /** How often the review clock looks for reviews to escalate or expire (default 1 s). */
  reviewClockPeriodMs?: number;
  /** The local identity provider's port (default 0: a free one; the inbox finds it itself). */
  identityPort?: number;
  /** How fast one principal may propose over HTTP (default `EMBEDDED_PROPOSAL_RATE`; docs/adr/0048). */
  proposalRate?: ProposalRate;
  /** How fast one principal may read over HTTP (default `EMBEDDED_READ_RATE`; docs/adr/0048, addendum 2026-12-07). */
  readRate?: ReadLimits;
  /**
   * Where this machine keeps how far each home had got, outside the home (docs/adr/0051). Given, it must be usable; by
   * default (`defaultWitnessDir()`) one that is not is said at error and the home starts without a witness.
   */
  witnessDir?: string;
  /** Starts a home whose parts, or whose witness, say it was restored, on purpose: the number its refusal names (docs/adr/0051). */
  acceptRestore?: string;
  /**
   * Told when the database PANICs (it could not write its log: a read-only remount, a failing disk), after which PGlite
   * answers nothing and spins. The main stops the process (a supervisor restarts it; the next start settles what was in
   * flight); by default it is logged at fatal.
   */
  onDatabasePanic?: (e: Error) => void;
}

export const FLAG_PREFIX = 'countersign.exec.';
export const AUTONOMY_PREFIX = 'countersign.autonomy.';
/** How often the embedded trust monitor repeats an unchanged verdict (a change goes out at the next check, every 5 s). */
export const EMBEDDED_TRUST_HEARTBEAT_MS = 300_000;

/**
 * All five services in one process: the in-process bus, the services' records of truth in an embedded
 * PostgreSQL (PGlite, `<home>/db`: the distributed mode's SQL, migrations and repositories), a local flag file
 * and a local append-only audit file. Needs nothing but Node. Everything lives in `home` and survives a stop
 * or a kill -9; one process per home (a lock), a second is refused.
 */
export async function startEmbedded(options: EmbeddedOptions) {
  // What an operator can get wrong is refused here, in one line, before anything is made: the ports (a clash showed only
  // once the home, its keys and its database were made and migrated), then the home itself.
  await checkPorts(options.host ?? '127.0.0.1', options.port ?? 8080, options.identityPort ?? 0);
  prepareHome(options.home);
  const logger = options.logger ?? createLogger('countersign-embedded');
  const lock = HomeLock.acquire(options.home);
  let db: EmbeddedDatabase | undefined;
  try {
    // What a used home held must still be there (home.json): a part missing refuses the start instead of being made
    // again, empty (ADR 0011, addendum 2026-12-05). Keys are made only for a new home, or where an older one had none.
    const state = inspectHome(options.home);
    // Each migration applied, at debug: on a first start they are some thirty lines before the banner that matters.
    db = await openHomeDatabase(
      options.home,
      (msg) => logger.debug(msg),
      options.onDatabasePanic ?? ((e) => logger.fatal({ alert: 'database-panic', err: e }, `the database stopped working: ${e.message}`)),
    );
    // Two starts that took over one stale lock at once: the one that lost it stops here, before serving.
    lock.verify();
    // Made after the database opened: a database refused leaves no keys behind to make the home look used.
    const keys = readHomeKeys(options.home, state.isNew ? 'new-home' : state.manifest ? false : 'older-home', logger);
    let recorded = recordHome(options.home, state.manifest);
    if (recorded.wrote && !state.isNew && !state.manifest)
      logger.info(
        { file: join(options.home, MANIFEST_FILE) },
        `this home had no ${MANIFEST_FILE} (an older version): recorded what it holds now, checked at every start`,
      );
    const running = await startServices({ ...options, logger }, db, keys, state.isNew);
    // The audit log made its pseudonym key as it opened: listed now, not only at a clean stop (a home killed before one
    // would not list it, and could lose it unseen). So is the log itself, made now if the writer has not written yet: a
    // first run killed before its clean stop listed none, and a lost audit/ then began a new log (home probe, 2026-12-05).
    closeSync(openSync(join(options.home, 'audit', 'audit.jsonl'), 'a', 0o600));
    recorded = recordHome(options.home, recorded.manifest);
    const database = db;
    return {
      ...running,
      close: async () => {
        await running.close();
        await database.close();
        // Anything else made while it ran is listed too (the manifest only grows).
        recorded = recordHome(options.home, recorded.manifest);
        lock.release();
      },
    };
  } catch (e) {
    await db?.close().catch(() => undefined);
    lock.release();
    throw e;
  }
}

async function startServices(options: EmbeddedOptions & { logger: Logger }, db: EmbeddedDatabase, keys: HomeKeys, newHome: boolean) {
  const home = options.home;
  const logger = options.logger;
  const contractPath = options.contractPath ?? DEFAULT_CONTRACT_PATH;
  // The review queue's copy of the running contract (each service follows the approved changes itself, as distributed).
  const reviewContract = RunningContract.fromFile(contractPath);

  const tokensFile = join(home, 'tokens.json');
  if (!existsSync(tokensFile)) writeTokens(home, HOME_PRINCIPALS);
  // The stand-in target has a token of its own (tokens/sink), known only to the connector and the user.
  const sink = (() => {
    try {
      return sinkToken(home);
    } catch (e) {
      throw new StartRefusedError((e as Error).message);
    }
  })();
  const tokens = new TokenRegistry([...readHomeTokens(tokensFile), sink.entry]);
  // Followed while it runs: a token removed or rotated in tokens.json stops within a second; a file that cannot be used
  // takes no token until it can (red team, 2026-12-05: read once at start, and removed tokens kept working).
  const tokensWatch = watchTokensFile(tokens, { file: tokensFile, read: () => [...readHomeTokens(tokensFile), sink.entry], logger });
  for (const problem of unusableTokenFiles(join(home, 'tokens'), (t) => tokens.resolve(t) !== undefined)) logger.warn(problem);
  // A role in tokens.json that no route and no review reads is said at start and at each reload (a typo grants nothing).
  warnRolesGrantingNothing(tokens, tokensWatch, () => contractRoles(reviewContract.current()), logger);

  // The default flag file is written for a new home only: on a used one a missing file is an outage (nothing executes, and
  // /readyz says so) until it is restored, not every kill switch on again.
  const flagsFile = join(home, 'flags.json');
  if (newHome && !existsSync(flagsFile)) writeFileSync(flagsFile, JSON.stringify(defaultFlags(actionTypesOf(contractPath)), null, 2));
  else if (!existsSync(flagsFile))
    logger.error({ file: flagsFile }, `${flagsFile} is missing: nothing is decided or executed until it is restored (it is watched)`);
  warnMissingKillSwitches(flagsFile, actionTypesOf(contractPath), FLAG_PREFIX, logger);
  // The bus's log and its groups' positions are in the database: what was published and not yet handled is
  // handled after a restart, from where each group had got to.
  const broker = await InMemoryBroker.open(createPgBrokerStore(db.pool), { logger });
  // The audit log, read back before anything is consumed: the database, the log and this machine's witness must agree on
  // how far the home had got (home/home-progress.ts; docs/adr/0051): a home restored whole or in parts is refused.
  // Its heads are checked against the home's own tree-head key (and older versions' per-start keys, beside the log, for
  // the heads before that key's first): a head nobody with the key signed refuses the start.
  const olderHeadKeys = join(home, 'audit', 'keys');
  const auditLog = createFileAuditLog(join(home, 'audit', 'audit.jsonl'), {
    pseudonymKeyFile: join(home, 'keys', 'audit-pseudonym.key'),
    headKeys: { home: verifyKeyOf(keys.auditHeads.entry), older: existsSync(olderHeadKeys) ? loadVerifyKeys(olderHeadKeys) : [] },
  });
  const progress = await HomeProgress.open({
    pool: db.pool,
    home,
    witnessDir: options.witnessDir ?? defaultWitnessDir(),
    explicit: options.witnessDir !== undefined,
    fingerprint: keys.auditHeads.fingerprint,
    logger,
  });
  await progress.check(auditLog, broker, options.acceptRestore);
  // One registry for the process: the bus measures into it (dead letters, publish and handler times, lag) as the services do.
  const metrics = createMetrics('countersign-embedded');
  const bus = new InMemoryBus({ broker, logger, source: 'countersign-embedded', metrics });
  // Each reload of tokens.json on the record, as in the distributed mode (a reload before the bus was up included).
  const reloadsAudit = auditTokensReloads(tokensWatch, { service: 'countersign-embedded', logger, emit: (topic, data, o) => bus.emit(topic, data, o) });
  // Who was taken out of tokens.json, across restarts (and edits while it was stopped): their approvals, agents, claims
  // and inbox sessions count for nothing (colluding-reviewers probe, 2026-12-06: a restart forgot every removal).
  const removals = await keepRemovals(tokens, tokensWatch, createPrincipalRoster(db.pool), { logger });
  // An unreadable or invalid flag file turns every flag unknown (execution fails closed): logged at error and audited.
  const flags = createFileFlagReader(flagsFile, {
    onHealth: reportFlagHealth({ service: 'countersign-embedded', logger, emit: (topic, data, o) => bus.emit(topic, data, o) }),
  });
  await flags.ready(5_000);
  // /readyz says "not ready" while the flag file cannot be read, and countersign_flags_loaded is 0 (docs/adr/0021): every
  // proposal then waits. The check holds back no consumer: the audit writer and the review queue keep working.
  const flagsCheck = embeddedFlagsReadiness(flags);
  // While the audit file cannot be written (a full disk, a file made unwritable), /readyz says why and nothing executes
  // (the executor's `auditUnavailable`); the audit writer retries, and both go on once it writes again (disk probe).
  const auditUnavailable = () => {
    const failure = auditLog.writeFailure();
    return failure && `the audit log cannot be written: ${failure.message}`;
  };
  const auditCheck = holdingNoConsumer({
    name: 'audit-log',
    check: async () => {
      const why = auditUnavailable();
      if (why) throw new Error(`${why}; nothing executes until it can`);
      return true;
    },
  });
  // Kill switches and autonomy: the stricter of the flag file and the control topic; lowered and raised through
  // the policy engine's API, which writes the file (ADR 0014).
  const flagControls = new FlagControls();
  const controlledFlags = withFlagControls(flags, flagControls);

  // The home's keys (home/home-keys.ts): a decision, a change, an outcome or a head signed before a restart verifies after it.
  const dataKey = keys.dataKey;
  const signing = keys.approvals;
  const verifyKey = verifyKeyOf(signing);
  const approvalKeyFile = keys.files['approvals.key'];
  // Every module applies only the contract changes this key signed (docs/adr/0038).
  const contractSigning = keys.contractChanges;
  const contractChangeKeys = [verifyKeyOf(contractSigning)];
  const contractKeyFile = keys.files['contract-changes.key'];
  // The executor and the review queue act only on what the decision key sealed (docs/adr/0040).
  const decisionSigning = keys.decisions;
  const decisionKeys = [verifyKeyOf(decisionSigning)];
  const decisionKeyFile = keys.files['decisions.key'];
  // The timeline, the review queue and the audit log take only what the outcome key sealed (docs/adr/0042).
  const outcomeSigning = keys.outcomes;
  const outcomeKeys = [verifyKeyOf(outcomeSigning)];
  const outcomeKeyFile = keys.files['outcomes.key'];
  // One tree-head key for the home (ADR 0005, addendum 2026-12-01): every start signs with it, so `audit verify --trust
  // <fingerprint>` can pin it. Its public half is written for offline verification, beside the per-start keys of homes
  // started before.
  const auditKeyFile = keys.files['audit-heads.key'];
  const auditFingerprint = keys.auditHeads.fingerprint;
  const auditKey = { entry: keys.auditHeads.entry };
  // Each key file as it is at start: the trust monitor checks it is still there, unchanged (a key file removed or written
  // over while the instance runs is news now, not at the next start, which refuses the home).
  const asStarted = (path: string) => ({ path, sha256: fileSha256(path) });
  mkdirSync(join(home, 'audit', 'keys'), { recursive: true });
  writeFileSync(join(home, 'audit', 'keys', `${auditKey.entry.keyId}.json`), JSON.stringify(verifyKeyEntry(auditKey.entry)));
  logger.info(
    { keyId: auditKey.entry.keyId, fingerprint: auditFingerprint },
    `audit tree heads are signed by key ${auditKey.entry.keyId}, fingerprint ${auditFingerprint}: pin it with audit verify --trust ${auditFingerprint}`,
  );
  let baseUrl = '';
  const trustHealth = new TrustHealthState();

  // Reviewers sign in to the inbox through a local OpenID Connect provider, started once the services listen.
  const host = options.host ?? '127.0.0.1';
  const identity = localIdentity(home, host, options.identityPort, logger, bus);

  // The stand-in target keeps its effects in the home's database: exactly-once shows across restarts too.
  const sinkStore = await SinkStore.open(db.pool);
  @Module({ controllers: [WebhookSinkController], providers: [{ provide: SinkStore, useValue: sinkStore }], exports: [SinkStore] })
  class SinkModule {}

  @Module({
    imports: [
      PlatformModule.forRoot({
        service: 'countersign-embedded',
        bus,
        logger,
        tokens,
        metrics,
        // The trust stack as the executor follows it: a signal (`signals.trust`), not a gate (actions wait with its reason).
        readiness: [flagsCheck.check, auditCheck.check, trustReadinessSignal(trustHealth)],
        readRate: options.readRate ?? EMBEDDED_READ_RATE,
      }),
      OrchestratorModule.register({
        contractPath,
        contractChangeKeys,
        approvalKeys: [verifyKey],
        decisionKeys,
        outcomeKeys,
        actionViews: createActionViewRepository(db.pool),
        idempotency: createIdempotencyRepository(db.pool),
        proposalRate: options.proposalRate ?? EMBEDDED_PROPOSAL_RATE,
      }),
      PolicyEngineModule.register({
        contractPath,
        contractChangeKeys,
        controlFactKeys: [verifyKey],
        decisionSigner: [decisionSigning],
        flags: controlledFlags,
        flagNames: { execPrefix: FLAG_PREFIX, autonomyPrefix: AUTONOMY_PREFIX },
        autonomy: { controls: flagControls, admin: createFileFlagAdmin(flagsFile) },
        rateLimiter: createPgRateLimiter(db.pool),
        // Anomaly statistics in memory: a restart starts the anomaly rules cold (only their ceilings fire).
        agentStats: createInMemoryAgentStats(),
        decisions: createDecisionRepository(db.pool),
        changeControl: { requests: createChangeRequestStore(db.pool), signingKeys: [contractSigning] },
      }),
      ReviewQueueModule.register({
        items: createReviewItemRepository(db.pool),
        signingKeys: [signing],
        decisionKeys,
        outcomeKeys,
        dataKey,
        contract: reviewContract,
        contractChangeKeys,
        killSwitchPrefix: FLAG_PREFIX,
        inbox: identity.inbox(() => baseUrl),
        // One process: the gauges and the lease in memory (rebuilt from the database at start), the same controller.
        degradation: {
          gauges: createInMemoryBacklogGauges(),
          lease: createInMemoryLeaderLease(),
          history: createReviewHistory(db.pool),
          contract: degradationContract(reviewContract),
        },
        // The trust monitor (ADR 0019) on the keys generated at start or kept in the home (always valid): the same checks and
        // control topic as the distributed mode, so the policy engine and the executor follow a real verdict here too.
        trust: {
          lease: createInMemoryLeaderLease(),
          // On an idle home each heartbeat is an audit entry under a signed head of its own, a file in `audit/heads`: at
          // the distributed mode's 30 s, 2,880 head files and 7 MB of audit a day. The monitor runs in this process, beside
          // its followers; they take its verdict as stale after about 15 minutes without one (3 heartbeats and a check).
          settings: { heartbeatMs: EMBEDDED_TRUST_HEARTBEAT_MS },
          keyFiles: [],
          // The HTTPS certificate an operator gives it, watched as the distributed mode's are: its dates and its chain
          // (trust probe, 2026-12-05: one expired a day before started without a word, and the trust stack read healthy).
          certificates: options.tls ? [{ owner: 'embedded', purpose: 'https-server', file: options.tls.certFile }] : [],
          sources: [
            new KeyListSource(
              { kind: 'signing-key', owner: 'review-queue', purpose: 'approval-signing', label: approvalKeyFile },
              () => [signing],
              DEFAULT_ROTATION_WARNING_MS,
              asStarted(approvalKeyFile),
            ),
            new KeyListSource(
              { kind: 'verify-key', owner: 'executor', purpose: 'approval-verify', label: 'generated at start' },
              () => [verifyKey],
              DEFAULT_ROTATION_WARNING_MS,
            ),
            new KeyListSource(
              { kind: 'signing-key', owner: 'audit-writer', purpose: 'audit-tree-head', label: auditKeyFile },
              () => [auditKey.entry],
              DEFAULT_ROTATION_WARNING_MS,
              asStarted(auditKeyFile),
            ),
            new KeyListSource(
              { kind: 'signing-key', owner: 'policy-engine', purpose: 'contract-change-signing', label: contractKeyFile },
              () => [contractSigning],
              DEFAULT_ROTATION_WARNING_MS,
              asStarted(contractKeyFile),
            ),
            new KeyListSource(
              { kind: 'signing-key', owner: 'policy-engine', purpose: 'decision-signing', label: decisionKeyFile },
              () => [decisionSigning],
              DEFAULT_ROTATION_WARNING_MS,
              asStarted(decisionKeyFile),
            ),
            new KeyListSource(
              { kind: 'signing-key', owner: 'executor', purpose: 'outcome-signing', label: outcomeKeyFile },
              () => [outcomeSigning],
              DEFAULT_ROTATION_WARNING_MS,
              asStarted(outcomeKeyFile),
            ),
          ],
        },
        // Decision quality on the same PGlite rows as the review items (the distributed mode's store and migration).
        decisionQuality: { store: createDecisionQualityStore(db.pool), contract: decisionQualityContract(reviewContract) },
        // The review clock escalates and expires reviews here too, on the same PGlite rows (one process, one clock).
        clock: { ...(options.reviewClockPeriodMs !== undefined && { periodMs: options.reviewClockPeriodMs }) },
      }),
      ExecutorModule.register({
        executions: createExecutionRepository(db.pool),
        connectors: new ConnectorRegistry(new WebhookConnector(() => `${baseUrl}/_sink/effects`, undefined, { Authorization: `Bearer ${sink.token}` })),
        flags: controlledFlags,
        flagControls,
        flagPrefix: FLAG_PREFIX,
        autonomyPrefix: AUTONOMY_PREFIX,
        approvalKeys: [verifyKey],
        decisionKeys,
        outcomeSigner: [outcomeSigning],
        // Its own copy of the running contract, following the approved changes (autonomous decisions are checked against it).
        contract: RunningContract.fromFile(contractPath),
        contractChangeKeys,
        auditUnavailable,
        trustHealth,
      }),
      AuditWriterModule.register({
        // The pseudonym key with the home's keys, not in `audit/`, the folder an auditor is given (ADR 0049).
        // Each append noted in the database (its size and root): a tail cut or changed while stopped is refused at start.
        log: progress.recordingAppends(auditLog),
        keys: new KeyRing([auditKey.entry], (reason) => logger.error({ alert: 'audit-signing-key' }, reason)),
        // Each head kept is noted in the database and the witness too: how far the home had got (docs/adr/0051).
        // The head files one a minute at most (a busy home signs a head every 2 s); the progress marks note every head.
        headStore: progress.recording(spacedHeadStore(createFileHeadStore(join(home, 'audit', 'heads')))),
        headPolicy: { everyEntries: 100, everyMs: 2_000 },
        sealKeys: { decisions: decisionKeys, reviewQueue: [verifyKey], contractChanges: contractChangeKeys, outcomes: outcomeKeys },
      }),
      SinkModule,
    ],
  })
  class EmbeddedRoot {}

  const { app, port, scheme } = await serve(EmbeddedRoot, logger, { host, port: options.port ?? 8080, tls: options.tls });
  // What autovacuum does for a PostgreSQL server, which PGlite runs none of: dead rows' space reused, the planner's
  // statistics kept (home/database-upkeep.ts).
  const upkeep = new DatabaseUpkeep(db.pool, logger);
  upkeep.start();
  flagsCheck.consumersStarted(app.get(ConsumerStates));
  auditCheck.consumersStarted(app.get(ConsumerStates));
  baseUrl = `${scheme}://${host}:${port}`;
  const idp = await identity.start(baseUrl).catch(async (e: Error) => {
    await upkeep.stop();
    await app.close();
    throw e;
  });
  // What `countersign drill` runs against (its schema: tools/drill/target.ts): one URL for every service, the tokens,
  // and the flag file a drill may move aside to take the flag service away.
  const target = { mode: 'embedded', urls: { orchestrator: baseUrl, reviewQueue: baseUrl, policyEngine: baseUrl }, tokensDir: join(home, 'tokens') };
  writeFileSync(join(home, 'target.json'), JSON.stringify({ ...target, flagService: { kind: 'file', path: flagsFile } }, null, 2), { mode: 0o600 });
  return {
    url: baseUrl,
    /** The reviewer inbox (sign-in through the local identity provider; passwords in `<home>/identity/passwords/`). */
    inboxUrl: `${baseUrl}/reviews`,
    identity: { issuer: idp.issuer, passwordsDir: identity.passwordsDir },
    home,
    flagsFile,
    /** The home's one tree-head key: what `audit verify --trust` pins. */
    auditKey: { keyId: auditKey.entry.keyId, fingerprint: auditFingerprint },
    /** The flags as the services read them (tests wait on it after editing the file). */
    flags,
    sink: app.get(SinkStore),
    /** The routes the HTTP server routes (what `GET /openapi.json` must document; the OpenAPI coverage test holds them to it). */
    servedRoutes: () => servedRoutes(app),
    /** The in-process bus, where an agent could produce proposals straight to the proposals topic (tests do). */
    bus,
    close: async () => {
      await upkeep.stop();
      tokensWatch.stop();
      reloadsAudit.stop();
      removals.stop();
      await app.close();
      await idp.close();
      await bus.close();
      await broker.flush();
      await progress.flush();
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
