import { readFileSync } from 'node:fs';
import { DynamicModule, Module } from '@nestjs/common';
import { z } from 'zod';
import { KafkaBus, KafkaSasl } from '@countersign/bus';
import { ConfigError, loadConfigOrExit, readPemSetting, refuseMisspelledSettingsOrExit, settings } from '@countersign/config';
import { createLogger, Logger } from '@countersign/logging';
import { createMetrics } from '@countersign/metrics';
import { readRateOf, readRateSettings } from '@countersign/limits';
import { createPgPool, PG_STATEMENT_TIMEOUT_MS, Pool, readRedisTls, RedisTlsSettings } from '@countersign/storage';
import { initTracing } from '@countersign/tracing';
import { loadTokenRegistry, readTokensFile, TokenRegistry } from './auth';
import { auditTokensReloads, TokensWatch, watchTokensFile } from './tokens-watch';
import { postgresDependency, redisDependency, waitForDependencies } from './dependencies';
import { httpTls } from './https/https-files';
import { PlatformModule, ReadinessCheck, serve } from './platform.module';

/** Settings every distributed service has. */
export const baseSettings = z.object({
  HOST: settings.host(),
  PORT: settings.optionalPort(),
  LOG_LEVEL: settings.logLevel(),
  KAFKA_BROKERS: settings.csv(),
  /** Prefix for topics and groups on a shared broker (test runs); empty in production. */
  KAFKA_NAMESPACE: z
    .string()
    .regex(/^[\w.-]*$/)
    .default(''),
  /** Partitions of a registry topic this service creates because it is missing (one that exists keeps its own). */
  KAFKA_TOPIC_PARTITIONS: settings.number(6, { min: 1, max: 10_000, integer: true }),
  AUTH_TOKENS_FILE: z.string().min(1),
  /**
   * How long one PostgreSQL statement may run before the server cancels it (ms; the client gives up 5 s later on a server
   * that does not answer at all): a stalled database costs a handler this long per attempt, then it is retried (ADR 0043).
   */
  PG_STATEMENT_TIMEOUT_MS: settings.number(PG_STATEMENT_TIMEOUT_MS, { min: 1_000, max: 3_600_000, integer: true }),
  /** How long a service started during an outage waits for Kafka, PostgreSQL and Redis before it gives up (ms). */
  STARTUP_WAIT_MS: settings.number(120_000, { min: 0, max: 3_600_000, integer: true }),
  /** Mutual TLS to Kafka's SSL listener (all three or none): the root to trust, this service's certificate chain and key (PEM files). */
  KAFKA_TLS_CA_FILE: z.string().min(1).optional(),
  KAFKA_TLS_CERT_FILE: z.string().min(1).optional(),
  KAFKA_TLS_KEY_FILE: z.string().min(1).optional(),
  /** A user and a file holding its password (both or neither), for a Kafka listener that signs clients in (SASL PLAIN). */
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD_FILE: z.string().min(1).optional(),
  /** HTTPS for the API (both or neither): this service's certificate chain and key (PEM files), reloaded when renewed. */
  HTTP_TLS_CERT_FILE: z.string().min(1).optional(),
  HTTP_TLS_KEY_FILE: z.string().min(1).optional(),
  ...readRateSettings(),
});
export type BaseSettings = z.infer<typeof baseSettings>;

export interface ServiceParts<C> {
  base: BaseSettings;
  config: C;
  logger: Logger;
  bus: KafkaBus;
  /** The service's bearer tokens (`AUTH_TOKENS_FILE`), and the watch that reloads them while it runs. */
  tokens: TokenRegistry;
  tokensWatch: TokensWatch;
  /** A PostgreSQL pool of 10 for `url`, its statements bounded by `PG_STATEMENT_TIMEOUT_MS` (ADR 0043), logging to the service's log. */
  pgPool(url: string, onIdleError?: (e: Error) => void): Pool;
}

export interface ServiceDefinition<S extends z.ZodObject<z.ZodRawShape>> {
  service: string;
  defaultPort: number;
  /** The service's own settings, validated at boot with the base ones. */
  settings: S;
  /** Settings the service reads apart (validated by it): known names, so that none is taken for a typo of another. */
  otherSettings?: Array<z.ZodObject<z.ZodRawShape>>;
  /** Builds the service's modules; returns readiness checks and what to close on shutdown. */
  build(parts: ServiceParts<z.infer<S>>): Promise<{ modules: DynamicModule[]; readiness?: ReadinessCheck[]; close?: () => Promise<void> }>;
}

/**
 * The `main` of a distributed service: validate settings (one line and exit 1 when bad), connect the
 * Kafka bus, build the modules, and serve HTTP on HOST:PORT (127.0.0.1 by default), HTTPS when HTTP_TLS_* are set.
 */
export async function runService<S extends z.ZodObject<z.ZodRawShape>>(def: ServiceDefinition<S>): Promise<void> {
  const base = loadConfigOrExit(baseSettings);
  const config = loadConfigOrExit(def.settings);
  refuseMisspelledSettingsOrExit([baseSettings, def.settings, ...(def.otherSettings ?? [])]);
  const logger = createLogger(def.service, { level: base.LOG_LEVEL });
  // Started by a supervisor holding an IPC channel to it (`npm run start:distributed`, the tests): it stops when that
  // supervisor goes, however it went (killed with -9 included), rather than run on as an orphan (first-user pass,
  // 2026-12-07). The channel keeps nothing alive; a service started any other way has none and is not concerned.
  let stop: (() => Promise<void>) | undefined;
  if (process.channel) {
    process.channel.unref();
    process.once('disconnect', () => {
      logger.warn(`${def.service}: the process that started it has gone; stopping`);
      if (stop) void stop();
      else process.exit(1);
    });
  }
  // Before anything is handled: the active span (W3C trace context) follows the work across awaits (docs/adr/0025-tracing.md).
  const tracing = initTracing({ service: def.service });
  try {
    const tokens = loadTokenRegistry(base.AUTH_TOKENS_FILE);
    // Followed while the service runs: a token removed or rotated in the file stops within a second (red team, 2026-12-05).
    const tokensWatch = watchTokensFile(tokens, { file: base.AUTH_TOKENS_FILE, read: () => readTokensFile(base.AUTH_TOKENS_FILE), logger });
    // Read (and checked) before anything connects: a missing or mismatched certificate stops the boot naming its file.
    const https = httpTls(base);
    // The service's name is its Kafka client id and the `source` of every event it emits.
    // One registry for the process: the bus measures into it (dead letters, Kafka latency, consumer lag) as the services do.
    const metrics = createMetrics(def.service);
    const bus = new KafkaBus({
      brokers: base.KAFKA_BROKERS,
      clientId: def.service,
      source: def.service,
      namespace: base.KAFKA_NAMESPACE,
      partitions: base.KAFKA_TOPIC_PARTITIONS,
      logger,
      metrics,
      tls: kafkaTls(base),
      sasl: kafkaSasl(base),
    });
    // Started during an outage (a restart into it): wait for Kafka, PostgreSQL and Redis rather than exit (STARTUP_WAIT_MS).
    const settingsOf = config as Record<string, unknown>;
    const url = (k: string) => (typeof settingsOf[k] === 'string' ? (settingsOf[k] as string) : undefined);
    await waitForDependencies(
      [
        ...[url('DATABASE_URL')].filter((u): u is string => !!u).map((u) => postgresDependency(u)),
        // Its TLS files (REDIS_TLS_*, with a rediss:// URL) are read and checked here, before anything connects.
        ...[url('REDIS_URL')]
          .filter((u): u is string => !!u)
          .map((u) => redisDependency(u, readRedisTls({ ...(settingsOf as Partial<RedisTlsSettings>), REDIS_URL: u }))),
        { name: 'Kafka', check: () => bus.connect() },
      ],
      { timeoutMs: base.STARTUP_WAIT_MS, logger },
    );
    // Each reload of the tokens file from the start on, on the record (a reload before the bus was up included).
    const reloadsAudit = auditTokensReloads(tokensWatch, { service: def.service, logger, emit: (topic, data, options) => bus.emit(topic, data, options) });
    const pgPool = (url: string, onIdleError?: (e: Error) => void) => createPgPool(url, 10, onIdleError, logger, base.PG_STATEMENT_TIMEOUT_MS);
    const built = await def.build({ base, config, logger, bus, tokens, tokensWatch, pgPool });
    @Module({
      imports: [
        PlatformModule.forRoot({ service: def.service, bus, logger, tokens, readiness: built.readiness, metrics, readRate: readRateOf(base) }),
        ...built.modules,
      ],
    })
    class ServiceRoot {}
    const { app, port, scheme } = await serve(ServiceRoot, logger, { host: base.HOST, port: base.PORT ?? def.defaultPort, tls: https });
    // Once, whichever asks first: a SIGTERM from the supervisor is often followed by its channel closing as it exits.
    let stopping: Promise<void> | undefined;
    stop = () =>
      (stopping ??= (async () => {
        tokensWatch.stop();
        reloadsAudit.stop();
        await app.close();
        await bus.close();
        await built.close?.();
        await tracing.shutdown();
        process.exit(0);
      })());
    // Listened for before the line that says it listens: until a listener is set, Node takes a signal's default (an exit
    // on the spot), and a supervisor may stop it as soon as it reads that line (the embedded main's test did, 2026-12-07).
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    logger.info({ host: base.HOST, port, scheme }, `${def.service} listening on ${scheme}://${base.HOST}:${port}`);
  } catch (e) {
    // A setting whose file is wrong is said in one line, as a bad value is (`loadConfigOrExit`).
    if (e instanceof ConfigError) process.stderr.write(`config: ${e.message}\n`);
    else logger.fatal({ err: e }, `${def.service} failed to start: ${(e as Error).message}`);
    process.exit(1);
  }
}

/** The Kafka sign-in, read at boot: the user and its password file, both or neither. */
export function kafkaSasl(base: Pick<BaseSettings, 'KAFKA_SASL_USERNAME' | 'KAFKA_SASL_PASSWORD_FILE'>): KafkaSasl | undefined {
  if (!base.KAFKA_SASL_USERNAME && !base.KAFKA_SASL_PASSWORD_FILE) return undefined;
  if (!base.KAFKA_SASL_USERNAME || !base.KAFKA_SASL_PASSWORD_FILE)
    throw new ConfigError('KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD_FILE go together: set both (a listener that signs clients in) or neither');
  let password: string;
  try {
    password = readFileSync(base.KAFKA_SASL_PASSWORD_FILE, 'utf8').trim();
  } catch (e) {
    throw new ConfigError(
      `KAFKA_SASL_PASSWORD_FILE: cannot read ${base.KAFKA_SASL_PASSWORD_FILE} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  if (!password) throw new ConfigError(`KAFKA_SASL_PASSWORD_FILE: ${base.KAFKA_SASL_PASSWORD_FILE} is empty`);
  return { mechanism: 'plain', username: base.KAFKA_SASL_USERNAME, password };
}

/** The Kafka mTLS files, read at boot: all three settings or none (half a TLS setting is a mistake, not plaintext). */
export function kafkaTls(base: Pick<BaseSettings, 'KAFKA_TLS_CA_FILE' | 'KAFKA_TLS_CERT_FILE' | 'KAFKA_TLS_KEY_FILE'>) {
  const files = { ca: base.KAFKA_TLS_CA_FILE, cert: base.KAFKA_TLS_CERT_FILE, key: base.KAFKA_TLS_KEY_FILE };
  const set = Object.values(files).filter(Boolean).length;
  if (set === 0) return undefined;
  if (set !== 3)
    throw new ConfigError('KAFKA_TLS_CA_FILE, KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE go together: set all three (mutual TLS) or none (plaintext)');
  return {
    ca: readPemSetting('KAFKA_TLS_CA_FILE', files.ca!),
    cert: readPemSetting('KAFKA_TLS_CERT_FILE', files.cert!),
    key: readPemSetting('KAFKA_TLS_KEY_FILE', files.key!),
  };
}
