import { Writable } from 'node:stream';
import { contextFromHeaders, initTracing, inSpan, SpanKind, Tracing } from '@countersign/tracing';
import { createLogger, withLogContext } from './index';

// real: pino, the OpenTelemetry SDK (context manager, W3C propagator); fake: nothing (lines are read back from a stream).
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()));
      cb();
    },
  });
  return { lines, logger: createLogger('trace-spec', { destination }) };
}

describe('logging: the trace beside the correlation id', () => {
  let tracing: Tracing;
  beforeAll(() => (tracing = initTracing({ service: 'trace-spec' })));
  afterAll(() => tracing.shutdown());

  it('puts the active span’s trace and span id on every line, next to the correlation id, also across awaits', async () => {
    const { lines, logger } = capture();
    const parent = contextFromHeaders({ traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01` });
    const spanId = await inSpan('work', { kind: SpanKind.CONSUMER, parent }, (span) =>
      withLogContext({ correlationId: 'corr-7' }, async () => {
        logger.info('before');
        await new Promise((r) => setTimeout(r, 5));
        logger.warn({ extra: 1 }, 'after');
        return span.spanContext().spanId;
      }),
    );
    logger.info('outside');
    expect(lines[0]).toMatchObject({ correlationId: 'corr-7', traceId: TRACE_ID, spanId, msg: 'before' });
    expect(lines[1]).toMatchObject({ correlationId: 'corr-7', traceId: TRACE_ID, spanId, extra: 1 });
    expect(spanId).not.toBe('b7ad6b7169203331');
    expect(lines[2].traceId).toBeUndefined();
    expect(lines[2].spanId).toBeUndefined();
  });

  it('a child logger carries them too, and a nested span shows its own span id in the same trace', async () => {
    const { lines, logger } = capture();
    const child = logger.child({ component: 'c' });
    await inSpan('outer', { kind: SpanKind.SERVER }, async (outer) => {
      child.info('outer');
      await inSpan('inner', { kind: SpanKind.INTERNAL }, async (inner) => {
        child.info('inner');
        expect(lines[1]).toMatchObject({ traceId: outer.spanContext().traceId, spanId: inner.spanContext().spanId });
      });
      expect(lines[0]).toMatchObject({ component: 'c', traceId: outer.spanContext().traceId, spanId: outer.spanContext().spanId });
    });
    expect(lines).toHaveLength(2);
  });
});
