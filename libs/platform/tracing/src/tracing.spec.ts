import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { activeTraceIds, contextFromHeaders, initTracing, inSpan, SpanKind, startSpan, traceHeaders, Tracing } from './tracing';

// real: the OpenTelemetry SDK (tracer provider, AsyncLocalStorage context manager, W3C propagator); fake: the exporter (in memory).
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

describe('tracing', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;

  beforeAll(() => {
    tracing = initTracing({ service: 'tracing-spec', exporter, exportEachSpan: true });
  });
  afterAll(() => tracing.shutdown());
  beforeEach(() => exporter.reset());

  it('continues the trace a traceparent names, across awaits, and hands the next hop a traceparent of its own span', async () => {
    const seen = await inSpan('handle', { kind: SpanKind.CONSUMER, parent: contextFromHeaders({ traceparent: PARENT }) }, async () => {
      await new Promise((r) => setTimeout(r, 5));
      return { ids: activeTraceIds(), headers: traceHeaders() };
    });
    expect(seen.ids?.traceId).toBe(TRACE_ID);
    expect(seen.ids?.spanId).not.toBe('00f067aa0ba902b7');
    expect(seen.headers.traceparent).toBe(`00-${TRACE_ID}-${seen.ids?.spanId}-01`);
    const [span] = exporter.getFinishedSpans();
    expect(span).toMatchObject({ name: 'handle', kind: SpanKind.CONSUMER });
    expect(span.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(span.resource.attributes['service.name']).toBe('tracing-spec');
  });

  it('reads traceparent as Kafka hands headers over (bytes) and starts a new trace for a missing or malformed one', async () => {
    expect(activeTraceIds(contextFromHeaders({ traceparent: Buffer.from(PARENT) }))?.traceId).toBe(TRACE_ID);
    const malformed = [undefined, {}, { traceparent: 'not-a-traceparent' }, { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` }];
    for (const headers of malformed) {
      expect(activeTraceIds(contextFromHeaders(headers))).toBeUndefined();
      const ids = await inSpan('root', { kind: SpanKind.SERVER, parent: contextFromHeaders(headers) }, async () => activeTraceIds());
      expect(ids?.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(ids?.traceId).not.toBe(TRACE_ID);
    }
    expect(exporter.getFinishedSpans().every((s) => !s.parentSpanContext)).toBe(true);
  });

  it('outside any span there are no ids and no headers', () => {
    expect(activeTraceIds()).toBeUndefined();
    expect(traceHeaders()).toEqual({});
  });

  it('marks a span that throws as failed and ends a long-lived span once', async () => {
    await expect(inSpan('boom', { kind: SpanKind.INTERNAL }, async () => Promise.reject(new TypeError('no')))).rejects.toThrow('no');
    const request = startSpan('GET', { kind: SpanKind.SERVER });
    request.end(true);
    request.end();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => [s.name, s.status.code, s.status.message])).toEqual([
      ['boom', 2, 'TypeError'],
      ['GET', 2, undefined],
    ]);
  });

  it('is set up once per process', () => {
    expect(() => initTracing({ service: 'again' })).toThrow('already set up');
  });
});
