import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { contextFromHeaders, initTracing, inSpan, SpanKind, Tracing } from '@countersign/tracing';
import { ConnectorRequest } from './connector';
import { WebhookConnector } from './webhook.connector';

// real: an HTTP server on 127.0.0.1 standing in for the target system, the OpenTelemetry SDK; fake: the span exporter (in memory).
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const request: ConnectorRequest = { actionId: 'a-9', actionType: 'ticket.tag', target: 't-1', parameters: {}, tenant: 'acme', digest: 'd'.repeat(64) };

describe('WebhookConnector: the action’s trace reaches the target', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let server: Server;
  let url: string;
  let status = 200;
  const received: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    tracing = initTracing({ service: 'executor-spec', exporter, exportEachSpan: true });
    server = createServer((req, res) => {
      received.push(req.headers);
      req.resume().on('end', () => res.writeHead(status).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/effects`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await tracing.shutdown();
  });

  it('sends the traceparent of a client span under the handling span, in the same trace', async () => {
    const parent = contextFromHeaders({ traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01` });
    const handling = await inSpan('process policy.decided', { kind: SpanKind.CONSUMER, parent }, async (span) => {
      expect(await new WebhookConnector(url).execute(request, 'key-t1')).toMatchObject({ status: 'executed' });
      return span.spanContext().spanId;
    });
    const client = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT)!;
    expect(client).toMatchObject({ name: 'POST', attributes: { 'http.request.method': 'POST', 'server.address': '127.0.0.1' } });
    expect(client.parentSpanContext?.spanId).toBe(handling);
    expect(received[0].traceparent).toBe(`00-${TRACE_ID}-${client.spanContext().spanId}-01`);
  });

  it('marks the call failed when the target refuses it; without a trace around it the call starts one', async () => {
    exporter.reset();
    status = 422;
    expect(await new WebhookConnector(url).execute(request, 'key-t2')).toMatchObject({ status: 'failed' });
    const [client] = exporter.getFinishedSpans();
    expect(client.status).toMatchObject({ code: 2, message: 'failed' });
    expect(client.parentSpanContext).toBeUndefined();
    expect(received[1].traceparent).toMatch(new RegExp(`^00-${client.spanContext().traceId}-${client.spanContext().spanId}-01$`));
  });
});
