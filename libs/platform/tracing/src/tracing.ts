import {
  Attributes,
  Context,
  context,
  defaultTextMapSetter,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanOptions as OtelSpanOptions,
  SpanStatusCode,
  TextMapGetter,
  trace,
  TraceFlags,
  Tracer,
  TracerProvider,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, RandomIdGenerator, SimpleSpanProcessor, SpanExporter } from '@opentelemetry/sdk-trace-base';

export { SpanKind } from '@opentelemetry/api';

/** The name spans are made under (the instrumentation scope): every span of Countersign's own code. */
export const TRACER_NAME = 'countersign';

/**
 * The wire format is fixed (W3C Trace Context: `traceparent`, `tracestate`), whatever propagator a process
 * registers globally: the bus and the webhook always speak it, also in a process that never called `initTracing`.
 */
const W3C = new W3CTraceContextPropagator();

/** Headers as Kafka (strings or bytes, maybe repeated) and Node's HTTP server (strings, maybe repeated) hand them over. */
export type TraceCarrier = Record<string, string | Buffer | Array<string | Buffer> | undefined>;

const carrierGetter: TextMapGetter<TraceCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    const one = Array.isArray(value) ? value[0] : value;
    return one === undefined ? undefined : Buffer.isBuffer(one) ? one.toString('utf8') : one;
  },
};

/** The W3C headers (`traceparent`, and `tracestate` when there is one) naming `ctx`'s span; empty when it has none. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  W3C.inject(ctx, headers, defaultTextMapSetter);
  return headers;
}

/**
 * The context whose remote parent is the span `headers` name (a message's or a request's `traceparent`). Headers
 * without a valid `traceparent` give `fallback` (by default the root context: the span made under it starts a trace).
 */
export function contextFromHeaders(headers: TraceCarrier | undefined, fallback: Context = ROOT_CONTEXT): Context {
  return headers ? W3C.extract(fallback, headers, carrierGetter) : fallback;
}

/** The trace and span id of the active span, for log lines and audit entries; undefined outside any span. */
export function activeTraceIds(ctx: Context = context.active()): { traceId: string; spanId: string } | undefined {
  const sc = trace.getSpanContext(ctx);
  return sc && isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : undefined;
}

export interface SpanOptions {
  kind: SpanKind;
  attributes?: Attributes;
  /** The parent (default: the active context). */
  parent?: Context;
}

/**
 * Runs `fn` inside a new span (a child of `parent`, or of the active span), with the span active, so what `fn`
 * logs, publishes and calls carries it. The span ends when `fn` settles; a throw marks it failed with the error's
 * name only (messages may carry regulated data; the logs have them, masked).
 */
export async function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span, ctx: Context) => Promise<T>): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = trace.getTracer(TRACER_NAME).startSpan(name, { kind: options.kind, attributes: options.attributes }, parent);
  const ctx = trace.setSpan(parent, span);
  try {
    return await context.with(ctx, () => fn(span, ctx));
  } catch (e) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error)?.name ?? 'Error' });
    throw e;
  } finally {
    span.end();
  }
}

/**
 * A span that outlives the call that starts it (an HTTP request ends when its response is sent, not when the
 * middleware returns): the caller runs the work in `ctx` and calls `end` once.
 */
export function startSpan(name: string, options: SpanOptions): { span: Span; ctx: Context; end(failed?: boolean): void } {
  const parent = options.parent ?? context.active();
  const span = trace.getTracer(TRACER_NAME).startSpan(name, { kind: options.kind, attributes: options.attributes }, parent);
  let ended = false;
  return {
    span,
    ctx: trace.setSpan(parent, span),
    end: (failed = false) => {
      if (ended) return;
      ended = true;
      if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}

export interface TracingOptions {
  /** The running service: the `service.name` of its spans. */
  service: string;
  /** Where finished spans go (none by default: the ids still travel and reach the logs and the audit trail). */
  exporter?: SpanExporter;
  /** Export each span as it ends instead of in batches (tests read them back at once). */
  exportEachSpan?: boolean;
}

export interface Tracing {
  /** Exports what is buffered and stops; the process's tracing falls back to the API's no-op. */
  shutdown(): Promise<void>;
}

let current: Tracing | undefined;

/**
 * The tracer of a process that exports nothing: it records no span (nothing would read one), it only gives each span
 * its ids, as the SDK would: a new span id under the parent's trace, with the parent's sampling flag, or a new trace at
 * a root (sampled, as the SDK's default sampler marks it). So `traceparent`, the log lines and the audit trail carry
 * ids exactly as before, and no span is built, timed and dropped per message and request (3–5 % of each service's CPU
 * under load in `bench:spine`'s profiles, issue 14).
 */
class IdsOnlyTracer implements Tracer {
  private readonly ids = new RandomIdGenerator();

  startSpan(_name: string, options?: OtelSpanOptions, ctx: Context = context.active()): Span {
    // `root`: a new trace whatever the context holds, as the SDK reads it.
    const parent = options?.root ? undefined : trace.getSpanContext(ctx);
    const valid = parent !== undefined && isSpanContextValid(parent);
    return trace.wrapSpanContext({
      traceId: valid ? parent.traceId : this.ids.generateTraceId(),
      spanId: this.ids.generateSpanId(),
      traceFlags: valid ? parent.traceFlags : TraceFlags.SAMPLED,
      ...(valid && parent.traceState ? { traceState: parent.traceState } : {}),
    });
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: [F] | [OtelSpanOptions, F] | [OtelSpanOptions, Context, F]): ReturnType<F> {
    const fn = rest[rest.length - 1] as F;
    const options = rest.length > 1 ? (rest[0] as OtelSpanOptions) : undefined;
    const ctx = rest.length > 2 ? (rest[1] as Context) : context.active();
    const span = this.startSpan(name, options, ctx);
    return context.with(trace.setSpan(ctx, span), () => fn(span)) as ReturnType<F>;
  }
}

class IdsOnlyTracerProvider implements TracerProvider {
  private readonly tracer = new IdsOnlyTracer();

  getTracer(): Tracer {
    return this.tracer;
  }
}

/**
 * The process's tracing, set up once at boot, before anything is handled: a tracer provider for `service`, the
 * AsyncLocalStorage context manager (the active span follows the work across awaits, as the log context does), and
 * the W3C propagator. Without it, spans are no-ops and the active span is not carried across awaits: an incoming
 * `traceparent` still travels on to the next hop unchanged, but a new trace is not started.
 */
export function initTracing(options: TracingOptions): Tracing {
  if (current) throw new Error('tracing is already set up in this process');
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(W3C);
  // Spans are recorded only for an exporter; without one, only their ids are made (IdsOnlyTracer).
  const provider = options.exporter
    ? new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': options.service }),
        spanProcessors: [options.exportEachSpan ? new SimpleSpanProcessor(options.exporter) : new BatchSpanProcessor(options.exporter)],
      })
    : undefined;
  trace.setGlobalTracerProvider(provider ?? new IdsOnlyTracerProvider());
  const tracing: Tracing = {
    shutdown: async () => {
      if (current !== tracing) return;
      current = undefined;
      await provider?.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
  current = tracing;
  return tracing;
}
