import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { activeTraceIds, initTracing, SpanKind, Tracing } from '@countersign/tracing';
import { traceRequest } from './request-span';

// real: Node's HTTP server and client on 127.0.0.1, the OpenTelemetry SDK; fake: the span exporter (in memory).
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('traceRequest: a server span per request under the caller’s traceparent', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let server: Server;
  let base: string;
  const seen: Array<{ path: string; traceId?: string }> = [];

  beforeAll(async () => {
    tracing = initTracing({ service: 'nest-spec', exporter, exportEachSpan: true });
    server = createServer((req, res) =>
      traceRequest(req as typeof req & { method: string; url: string }, res, async () => {
        await new Promise((r) => setTimeout(r, 2));
        seen.push({ path: req.url!, traceId: activeTraceIds()?.traceId });
        res.writeHead(req.url === '/fail' ? 503 : 200).end();
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await tracing.shutdown();
  });

  it('continues the caller’s trace, records method, path and status, and marks a 5xx failed', async () => {
    await fetch(`${base}/v1/proposals?x=1`, { method: 'POST', headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` } });
    await fetch(`${base}/fail`);
    expect(seen[0]).toEqual({ path: '/v1/proposals?x=1', traceId: TRACE_ID });
    expect(seen[1].traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(seen[1].traceId).not.toBe(TRACE_ID);
    // The span ends on the server's 'finish', which need not come before the client has read the answer.
    for (const deadline = Date.now() + 5_000; exporter.getFinishedSpans().length < 2 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
    const [ok, failed] = exporter.getFinishedSpans();
    expect(ok).toMatchObject({
      name: 'POST',
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': 'POST', 'url.path': '/v1/proposals', 'http.response.status_code': 200 },
    });
    expect(ok.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(failed).toMatchObject({ name: 'GET', status: { code: 2 }, attributes: { 'http.response.status_code': 503 } });
  });

  it('does not trace probes and scrapes', async () => {
    exporter.reset();
    for (const path of ['/healthz', '/readyz', '/metrics']) await fetch(`${base}${path}`, { headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` } });
    expect(seen.slice(-3).map((s) => s.traceId)).toEqual([undefined, undefined, undefined]);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
