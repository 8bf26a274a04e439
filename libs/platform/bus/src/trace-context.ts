import { contextFromHeaders, inSpan, SpanKind, TraceCarrier, traceHeaders } from '@countersign/tracing';

/**
 * Trace context across the bus (W3C Trace Context in message headers; docs/adr/0025-tracing.md). Both adapters
 * publish through `publishInSpan` and deliver through `handleInSpan`, so a Kafka hop and an in-memory hop look the
 * same in a trace: a producer span whose `traceparent` travels with the message, and a consumer span under it.
 */

/** The headers of a message on the wire (kafkajs' `IHeaders`; the in-memory broker keeps the same). */
export type MessageHeaders = TraceCarrier;

/**
 * Runs a publish inside a producer span, a child of the active span (the request or the handled event the publish
 * follows from); `send` gets the headers that carry the span's `traceparent` to the consumers.
 */
export function publishInSpan<T>(topic: string, key: string | null, send: (headers: Record<string, string>) => Promise<T>): Promise<T> {
  return inSpan(
    `send ${topic}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.destination.name': topic,
        ...(key === null ? {} : { 'messaging.kafka.message.key': key }),
      },
    },
    (_span, ctx) => send(traceHeaders(ctx)),
  );
}

/** Where a message was read from, for the consumer span. */
export interface Delivered {
  topic: string;
  partition: number;
  offset: string;
  headers?: MessageHeaders;
}

/**
 * Runs the handling of a message inside a consumer span whose parent is the producer span its `traceparent` names
 * (none: a new trace), so what the handler logs, emits and calls continues the trace.
 */
export function handleInSpan<T>(msg: Delivered, group: string, fn: () => Promise<T>): Promise<T> {
  return inSpan(
    `process ${msg.topic}`,
    {
      kind: SpanKind.CONSUMER,
      parent: contextFromHeaders(msg.headers),
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': msg.topic,
        'messaging.consumer.group.name': group,
        'messaging.destination.partition.id': String(msg.partition),
        'messaging.kafka.offset': Number(msg.offset),
      },
    },
    fn,
  );
}
