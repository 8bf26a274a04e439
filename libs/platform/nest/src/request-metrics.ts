import type { Metrics } from '@countersign/metrics';

/** The methods the routes serve; any other a caller sends is counted as `other` (the label stays a bounded set). */
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

/** A request as Express leaves it once routed: the route that served it, under the router it was mounted on. */
export interface RoutedRequest {
  method: string;
  baseUrl?: string;
  route?: { path?: unknown };
}

/**
 * Observes `countersign_http_request_seconds` for a request when its answer is done (or its client went away): by the
 * route as declared (`/v1/actions/:id`, known once a route matched; `unmatched` otherwise), never by the path sent, so a
 * scan of random paths, ids or query strings makes no new series.
 */
export function timeRequest(metrics: Metrics, req: RoutedRequest, res: { statusCode: number; once(event: 'close', listener: () => void): unknown }): void {
  const arrived = performance.now();
  res.once('close', () => {
    const path = req.route?.path;
    metrics.histogram('countersign_http_request_seconds').observe(
      {
        route: typeof path === 'string' ? `${req.baseUrl ?? ''}${path}` : 'unmatched',
        method: METHODS.has(req.method) ? req.method : 'other',
        code: String(res.statusCode),
      },
      (performance.now() - arrived) / 1000,
    );
  });
}
