import { DynamicModule, Module } from '@nestjs/common';
import { z } from 'zod';
import { KafkaBus } from '@countersign/bus';
import { loadConfigOrExit, settings } from '@countersign/config';
import { createLogger, Logger } from '@countersign/logging';
import { loadTokenRegistry } from './auth';
import { PlatformModule, ReadinessCheck, serve } from './platform.module';

/** Settings every distributed service has. */
const baseSettings = z.object({
  HOST: settings.host(),
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  LOG_LEVEL: settings.logLevel(),
  KAFKA_BROKERS: settings.csv(),
  /** Prefix for topics and groups on a shared broker (test runs); empty in production. */
  KAFKA_NAMESPACE: z
    .string()
    .regex(/^[\w.-]*$/)
    .default(''),
  AUTH_TOKENS_FILE: z.string().min(1),
});
export type BaseSettings = z.infer<typeof baseSettings>;

export interface ServiceParts<C> {
  base: BaseSettings;
  config: C;
  logger: Logger;
  bus: KafkaBus;
}

export interface ServiceDefinition<S extends z.ZodObject<z.ZodRawShape>> {
  service: string;
  defaultPort: number;
  /** The service's own settings, validated at boot with the base ones. */
  settings: S;
  /** Builds the service's modules; returns readiness checks and what to close on shutdown. */
  build(parts: ServiceParts<z.infer<S>>): Promise<{ modules: DynamicModule[]; readiness?: ReadinessCheck[]; close?: () => Promise<void> }>;
}

/**
 * The `main` of a distributed service: validate settings (one line and exit 1 when bad), connect the
 * Kafka bus, build the modules, and serve HTTP on HOST:PORT (127.0.0.1 by default).
 */
export async function runService<S extends z.ZodObject<z.ZodRawShape>>(def: ServiceDefinition<S>): Promise<void> {
  const base = loadConfigOrExit(baseSettings);
  const config = loadConfigOrExit(def.settings);
  const logger = createLogger(def.service, { level: base.LOG_LEVEL });
  try {
    const tokens = loadTokenRegistry(base.AUTH_TOKENS_FILE);
    // The service's name is its Kafka client id and the `source` of every event it emits.
    const bus = new KafkaBus({ brokers: base.KAFKA_BROKERS, clientId: def.service, source: def.service, namespace: base.KAFKA_NAMESPACE, logger });
    await bus.connect();
    const built = await def.build({ base, config, logger, bus });
    @Module({ imports: [PlatformModule.forRoot({ service: def.service, bus, logger, tokens, readiness: built.readiness }), ...built.modules] })
    class ServiceRoot {}
    const { app, port } = await serve(ServiceRoot, logger, { host: base.HOST, port: base.PORT ?? def.defaultPort });
    logger.info({ host: base.HOST, port }, `${def.service} listening on http://${base.HOST}:${port}`);
    const stop = async () => {
      await app.close();
      await bus.close();
      await built.close?.();
      process.exit(0);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  } catch (e) {
    logger.fatal({ err: e }, `${def.service} failed to start: ${(e as Error).message}`);
    process.exit(1);
  }
}
