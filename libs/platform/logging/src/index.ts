import { AsyncLocalStorage } from 'node:async_hooks';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { Logger, LogFn } from 'pino';
import { maskDeep, maskText } from '@countersign/guardrails';

/** What every log line of the current unit of work carries. */
export interface LogContext {
  correlationId?: string;
  actionId?: string;
  eventId?: string;
}

const store = new AsyncLocalStorage<LogContext>();

/**
 * What a line written now carries: the bound context, and beside its correlation id the W3C trace and span id of
 * the active OpenTelemetry span (libs/platform/tracing), so a line leads to its trace and a trace to its lines.
 */
export function currentLogContext(): LogContext & { traceId?: string; spanId?: string } {
  const sc = trace.getSpanContext(context.active());
  const bound = store.getStore();
  return sc && isSpanContextValid(sc) ? { ...bound, traceId: sc.traceId, spanId: sc.spanId } : { ...bound };
}

/** Runs `fn` with `ctx` bound, so every log line inside it carries the correlation id. */
export function withLogContext<T>(ctx: LogContext, fn: () => T): T {
  return store.run({ ...store.getStore(), ...ctx }, fn);
}

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

/**
 * Regulated data never reaches a log line either: the message, every string value and key of the logged
 * object, the bound context (a card number sent as correlation id) and errors (message and stack) pass
 * through the same detectors as the audit trail (`maskDeep` of libs/guardrails). Costs a few µs per line.
 */
export function maskLogObject(obj: Record<string, unknown>): Record<string, unknown> {
  let errors: Record<string, unknown> | undefined;
  for (const k in obj) {
    // pino serialises errors after this formatter; serialised here, their message and stack are masked too.
    if (obj[k] instanceof Error) (errors ??= { ...obj })[k] = pino.stdSerializers.err(obj[k] as Error);
  }
  return maskDeep(errors ?? obj);
}

/** Masks the message and the interpolation values of a log call, before pino formats them. */
function maskLogCall(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const a = args as unknown[];
  const first = a[0];
  // Logged without a message, an error lends its message to the line: give pino a masked one.
  const err = first instanceof Error ? first : (first as { err?: unknown } | null)?.err;
  if (typeof first !== 'string' && typeof a[1] !== 'string' && err instanceof Error) a.splice(1, 0, err.message);
  for (let i = typeof first === 'string' ? 0 : 1; i < a.length; i++) a[i] = typeof a[i] === 'string' ? maskText(a[i] as string) : maskDeep(a[i]);
  method.apply(this, args);
}

/** A pino JSON logger for `service` that adds the correlation id and trace id of the current unit of work to each line. */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  const logger = pino(
    {
      name: service,
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { service },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      mixin: currentLogContext,
      formatters: { log: maskLogObject, bindings: (bindings) => maskDeep(bindings) },
      // maskLogObject has serialised every error already.
      serializers: { err: (err: unknown) => err },
      hooks: { logMethod: maskLogCall },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
  // pino formats only the root's bindings; children (and theirs, which inherit this) mask theirs here.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, maskDeep(bindings), childOptions);
  } as Logger['child'];
  return logger;
}

export type { Logger } from 'pino';
/** Progress of long command-line work on a terminal (quiet elsewhere). */
export { createProgress, type Progress, type ProgressOptions, type ProgressStream } from './progress';
