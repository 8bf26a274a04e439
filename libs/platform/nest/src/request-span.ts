import { IncomingHttpHeaders } from 'node:http';
import { context } from '@opentelemetry/api';
import { maskText } from '@countersign/guardrails';
import { contextFromHeaders, SpanKind, startSpan } from '@countersign/tracing';

/** Probes and scrapes are not traced: a trace per probe every few seconds would bury the ones that matter. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

export interface TracedRequest {
  method: string;
  url: string;
  originalUrl?: string;
  headers: IncomingHttpHeaders;
}

export interface TracedResponse {
  statusCode: number;
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

/**
 * Runs the rest of a request (`next`) inside a server span whose parent is the caller's W3C `traceparent` (none: a
 * new trace), so what the request logs and publishes carries the trace on. The span ends when the answer is sent
 * (or the client goes away); 5xx marks it failed. Its path is masked like every logged path.
 */
export function traceRequest(req: TracedRequest, res: TracedResponse, next: () => void): void {
  const path = (req.originalUrl ?? req.url).split('?')[0];
  if (UNTRACED.has(path)) return next();
  // The route template is not known yet in a middleware: the span is named by the method alone, as the conventions say.
  const span = startSpan(req.method, {
    kind: SpanKind.SERVER,
    parent: contextFromHeaders(req.headers),
    attributes: { 'http.request.method': req.method, 'url.path': maskText(path.slice(0, 500)) },
  });
  res.once('finish', () => {
    span.span.setAttribute('http.response.status_code', res.statusCode);
    span.end(res.statusCode >= 500);
  });
  res.once('close', () => span.end());
  context.with(span.ctx, next);
}
