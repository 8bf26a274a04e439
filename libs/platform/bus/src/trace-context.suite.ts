import { Writable } from 'node:stream';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { dlqTopic, TOPICS } from '@countersign/contracts';
import { createLogger, Logger } from '@countersign/logging';
import { activeTraceIds, contextFromHeaders, initTracing, inSpan, SpanKind, Tracing } from '@countersign/tracing';
import { eventually, proposalEvent } from './bus.suite';
import { EventBus, RefusedEvent } from './port';

/** A fresh broker world for one test; its buses log to `logger`. */
export interface TraceHarness {
  bus(logger: Logger): Promise<EventBus>;
  close(): Promise<void>;
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

/**
 * Trace context across the bus, for both adapters: a publish made inside a span sends its `traceparent` as a
 * message header, the consumer continues that trace (and so does what it publishes in turn, and its dead letters),
 * and the handler's log lines carry the trace id. A message without one starts a trace of its own.
 */
export function traceSuite(name: string, makeHarness: () => Promise<TraceHarness>, timeoutMs = 60_000): void {
  describe(`trace context across the bus: ${name}`, () => {
    const exporter = new InMemorySpanExporter();
    let tracing: Tracing;
    let harness: TraceHarness;
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('trace-suite', {
      level: 'debug',
      destination: new Writable({
        write(chunk, _enc, cb) {
          lines.push(JSON.parse(chunk.toString()));
          cb();
        },
      }),
    });

    beforeAll(() => {
      tracing = initTracing({ service: 'trace-suite', exporter, exportEachSpan: true });
    });
    afterAll(() => tracing.shutdown());
    beforeEach(async () => {
      exporter.reset();
      lines.length = 0;
      harness = await makeHarness();
    });
    afterEach(() => harness.close());

    it(
      'carries the caller’s trace through every hop: publish, handle, publish again, handle; the log lines carry it too',
      async () => {
        const bus = await harness.bus(logger);
        const seen = new Map<string, string | undefined>();
        await bus.subscribe({
          group: 'trace.relay',
          handlers: {
            [TOPICS.proposalSubmitted]: async (e) => {
              if (e.subject === 'hop-1') await bus.publish(TOPICS.proposalSubmitted, proposalEvent('hop-2', 2));
            },
          },
        });
        await bus.subscribe({
          group: 'trace.sink',
          handlers: { [TOPICS.proposalSubmitted]: async (e) => void seen.set(e.subject, activeTraceIds()?.traceId) },
        });
        // As the HTTP middleware does with a request's `traceparent`.
        const caller = contextFromHeaders({ traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` });
        await inSpan('POST', { kind: SpanKind.SERVER, parent: caller }, () => bus.publish(TOPICS.proposalSubmitted, proposalEvent('hop-1', 1)));
        await eventually(() => expect(seen.size).toBe(2), timeoutMs);
        expect(Object.fromEntries(seen)).toEqual({ 'hop-1': TRACE_ID, 'hop-2': TRACE_ID });

        // Each hop is a producer span and a consumer span under it; the second publish is under the relay's consumer span.
        await eventually(() => expect(exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER)).toHaveLength(4), timeoutMs);
        const spans = exporter.getFinishedSpans();
        expect(spans.every((s) => s.spanContext().traceId === TRACE_ID)).toBe(true);
        const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
        const parentOf = (s: (typeof spans)[number]) => byId.get(s.parentSpanContext?.spanId ?? '');
        const producers = spans.filter((s) => s.kind === SpanKind.PRODUCER);
        expect(producers).toHaveLength(2);
        const [first, second] = [...producers].sort((a, b) => (a.startTime[0] - b.startTime[0]) * 1e9 + (a.startTime[1] - b.startTime[1]));
        expect(parentOf(first)?.name).toBe('POST');
        expect(parentOf(second)).toMatchObject({ kind: SpanKind.CONSUMER, attributes: { 'messaging.consumer.group.name': 'trace.relay' } });
        for (const consumer of spans.filter((s) => s.kind === SpanKind.CONSUMER)) {
          expect(consumer.name).toBe(`process ${TOPICS.proposalSubmitted}`);
          expect([first, second]).toContain(parentOf(consumer));
        }

        const handled = lines.filter((l) => l.msg === 'event handled');
        expect(handled.length).toBeGreaterThanOrEqual(4);
        expect(handled.every((l) => l.traceId === TRACE_ID && typeof l.spanId === 'string' && typeof l.correlationId === 'string')).toBe(true);
      },
      timeoutMs,
    );

    it(
      'starts a trace of its own for a message published outside any span, one per message',
      async () => {
        const bus = await harness.bus(logger);
        const seen = new Map<string, string | undefined>();
        await bus.subscribe({
          group: 'trace.fresh',
          handlers: { [TOPICS.proposalSubmitted]: async (e) => void seen.set(e.subject, activeTraceIds()?.traceId) },
        });
        await bus.publish(TOPICS.proposalSubmitted, proposalEvent('lone-1', 1));
        await bus.publish(TOPICS.proposalSubmitted, proposalEvent('lone-2', 2));
        await eventually(() => expect(seen.size).toBe(2), timeoutMs);
        const ids = [...seen.values()];
        for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
        expect(ids[0]).not.toBe(ids[1]);
        expect(ids).not.toContain(TRACE_ID);
      },
      timeoutMs,
    );

    it(
      'a dead letter continues the trace of the message that was refused',
      async () => {
        const bus = await harness.bus(logger);
        let deadLetterTrace: string | undefined;
        await bus.subscribe({
          group: 'trace.refuse',
          handlers: {
            [TOPICS.proposalSubmitted]: async () => {
              throw new RefusedEvent('refused for the test');
            },
          },
        });
        await bus.subscribe({
          group: 'trace.dlq',
          handlers: { [dlqTopic(TOPICS.proposalSubmitted)]: async () => void (deadLetterTrace = activeTraceIds()?.traceId) },
        });
        const caller = contextFromHeaders({ traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` });
        await inSpan('POST', { kind: SpanKind.SERVER, parent: caller }, () => bus.publish(TOPICS.proposalSubmitted, proposalEvent('refused-1', 1)));
        await eventually(() => expect(deadLetterTrace).toBe(TRACE_ID), timeoutMs);
      },
      timeoutMs,
    );
  });
}
