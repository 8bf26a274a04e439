import { trace } from '@opentelemetry/api';
import { activeTraceIds, contextFromHeaders, initTracing, inSpan, SpanKind, startSpan, traceHeaders, TRACER_NAME, Tracing } from './tracing';

// real: the tracing set up as every service sets it up without an exporter (AsyncLocalStorage context manager, W3C
// propagator, the ids-only tracer); fake: nothing.
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';

describe('tracing without an exporter', () => {
  let tracing: Tracing;

  beforeAll(() => {
    tracing = initTracing({ service: 'tracing-ids-only-spec' });
  });
  afterAll(() => tracing.shutdown());

  it('records no span, yet continues the trace a traceparent names with a span id of its own and the same sampling flag', async () => {
    for (const flags of ['01', '00']) {
      const parent = contextFromHeaders({ traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-${flags}` });
      const seen = await inSpan('handle', { kind: SpanKind.CONSUMER, parent }, async (span) => {
        await new Promise((r) => setTimeout(r, 5));
        return { recording: span.isRecording(), ids: activeTraceIds(), headers: traceHeaders() };
      });
      expect(seen.recording).toBe(false);
      expect(seen.ids?.traceId).toBe(TRACE_ID);
      expect(seen.ids?.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(seen.ids?.spanId).not.toBe(PARENT_SPAN);
      expect(seen.headers.traceparent).toBe(`00-${TRACE_ID}-${seen.ids?.spanId}-${flags}`);
    }
  });

  it('keeps the parent trace state', async () => {
    const parent = contextFromHeaders({ traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01`, tracestate: 'vendor=abc' });
    const headers = await inSpan('handle', { kind: SpanKind.CONSUMER, parent }, async () => traceHeaders());
    expect(headers.tracestate).toBe('vendor=abc');
  });

  it('starts a new trace, marked sampled as the SDK marks one, for a missing or malformed traceparent: every log line still has ids', async () => {
    const seen = new Set<string>();
    for (const headers of [undefined, { traceparent: 'not-a-traceparent' }]) {
      const got = await inSpan('root', { kind: SpanKind.SERVER, parent: contextFromHeaders(headers) }, async () => ({
        ids: activeTraceIds(),
        headers: traceHeaders(),
      }));
      expect(got.ids?.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(got.ids?.traceId).not.toBe('0'.repeat(32));
      expect(got.headers.traceparent).toBe(`00-${got.ids?.traceId}-${got.ids?.spanId}-01`);
      seen.add(got.ids!.traceId);
    }
    expect(seen.size).toBe(2);
  });

  it('nests: a span started inside another is its child in the same trace', async () => {
    const [outer, inner] = await inSpan('outer', { kind: SpanKind.SERVER }, async () => [
      activeTraceIds(),
      await inSpan('inner', { kind: SpanKind.PRODUCER }, async () => activeTraceIds()),
    ]);
    expect(inner?.traceId).toBe(outer?.traceId);
    expect(inner?.spanId).not.toBe(outer?.spanId);
  });

  it('serves a long-lived span and the API’s startActiveSpan alike', async () => {
    const request = startSpan('GET', { kind: SpanKind.SERVER });
    expect(activeTraceIds(request.ctx)?.spanId).toMatch(/^[0-9a-f]{16}$/);
    request.end(true);
    request.end();
    const ids = trace.getTracer(TRACER_NAME).startActiveSpan('work', (span) => {
      expect(span.isRecording()).toBe(false);
      return activeTraceIds();
    });
    expect(ids?.traceId).toMatch(/^[0-9a-f]{32}$/);
    // `root` asks for a new trace even under a parent.
    const parent = contextFromHeaders({ traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` });
    const root = trace.getTracer(TRACER_NAME).startSpan('detached', { root: true }, parent);
    expect(root.spanContext().traceId).not.toBe(TRACE_ID);
    expect(trace.getTracer(TRACER_NAME).startSpan('child', {}, parent).spanContext().traceId).toBe(TRACE_ID);
  });
});
