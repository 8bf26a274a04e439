import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { Logger } from 'pino';

/** What every log line of the current unit of work carries. */
export interface LogContext {
  correlationId?: string;
  actionId?: string;
  eventId?: string;
}

const store = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `ctx` bound, so every log line inside it carries the correlation id. */
export function withLogContext<T>(ctx: LogContext, fn: () => T): T {
  return store.run({ ...store.getStore(), ...ctx }, fn);
}

/** The log context of the current unit of work, if any. */
export const currentLogContext = (): LogContext | undefined => store.getStore();

/**
 * Secrets never reach a log line: bearer tokens, approval tokens, scoped tokens and keys are redacted
 * wherever they appear in a logged object.
 */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'token',
  '*.token',
  'approval',
  '*.approval',
  'data.approval',
  'scopedToken',
  '*.scopedToken',
  'data.proposal.scopedToken',
  'privateKey',
  '*.privateKey',
  'password',
  '*.password',
];

export interface LoggerOptions {
  level?: string;
  /** Where lines go (default stdout); tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
}

/** A pino JSON logger for `service` that adds the correlation id of the current unit of work to each line. */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: service,
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { service },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      mixin: () => ({ ...store.getStore() }),
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

export type { Logger } from 'pino';
