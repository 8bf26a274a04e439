import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SpanStatusCode } from '@opentelemetry/api';
import { inSpan, SpanKind, traceHeaders } from '@countersign/tracing';
import { Connector, ConnectorCapabilities, ConnectorRequest, ConnectorResult } from './connector';

/** A failed request, and whether it went out on a kept-alive connection and got any answer. */
type RequestError = Error & { code?: string; reusedSocket?: boolean; answered?: boolean };

/** The connections to a target (per scheme): a call beyond them would wait in the agent's queue. */
const WEBHOOK_SOCKETS = 64;

/** 4xx answers that refuse nothing for good: 408 (the target gave up waiting for the request) and 429 (too many). */
const TRY_LATER = new Set([408, 429]);

/**
 * Sends the action to a configured URL as JSON with an `Idempotency-Key` header. 2xx is executed,
 * 4xx failed (the target refused it), but for 408 and 429, which say "not now" (`TRY_LATER`); a timeout, a 5xx or a
 * dropped connection may have taken effect, so it is `outcome_unknown`, and so is "not now": the reconciler settles it
 * by sending it again under the same key, never a final failure for a doubt that passes. Plain `node:http` over kept-alive connections: with `fetch`
 * (undici and its web streams) the executor spent 1.5–1.9× the CPU per action (bench:spine, /proc).
 * Each call is a client span of the action's trace, and carries its W3C `traceparent` to the target.
 */
export class WebhookConnector implements Connector {
  readonly name = 'webhook';
  // An idle connection is closed after 30 s, or sooner when the target announces a shorter keep-alive
  // (Node then closes it a second before the target would).
  private readonly agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets: WEBHOOK_SOCKETS, timeout: 30_000 }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: WEBHOOK_SOCKETS, timeout: 30_000 }),
  };

  /** As many calls at once as it has connections: none waits for a socket after the executor's last check. */
  readonly maxInFlight = WEBHOOK_SOCKETS;

  /**
   * Every request carries the `Idempotency-Key`, and a webhook target is required to apply an action once per
   * key: so an unknown outcome is settled by sending it again under the same key. A target that does not keep
   * that promise is configured with `idempotentByKey: false` (its unknown outcomes then go to a person).
   */
  readonly capabilities: ConnectorCapabilities;

  /**
   * `url` may be a function, for a target whose address is known only after start (the embedded sink).
   * `headers` go with every request (e.g. the target's `Authorization`); they never override the
   * idempotency and action-id headers.
   */
  constructor(
    private readonly url: string | (() => string),
    readonly timeoutMs = 10_000,
    private readonly headers: Readonly<Record<string, string>> = {},
    options: { idempotentByKey?: boolean } = {},
  ) {
    this.capabilities = { idempotentByKey: options.idempotentByKey ?? true };
  }

  execute(request: ConnectorRequest, idempotencyKey: string): Promise<ConnectorResult> {
    const url = new URL(typeof this.url === 'string' ? this.url : this.url());
    const attributes = { 'http.request.method': 'POST', 'server.address': url.hostname, 'countersign.connector': this.name };
    return inSpan('POST', { kind: SpanKind.CLIENT, attributes }, async (span, ctx) => {
      const result = await this.call(url, request, idempotencyKey, traceHeaders(ctx));
      if (result.status !== 'executed') span.setStatus({ code: SpanStatusCode.ERROR, message: result.status });
      return result;
    });
  }

  private async call(url: URL, request: ConnectorRequest, idempotencyKey: string, trace: Record<string, string>): Promise<ConnectorResult> {
    const body = JSON.stringify(request);
    const headers = { ...this.headers, ...trace, 'Idempotency-Key': idempotencyKey, 'X-Countersign-Action-Id': request.actionId };
    let answer: { status: number; requestId?: string };
    let attempts = 1;
    try {
      answer = await this.post(url, body, headers).catch((e: RequestError) => {
        // A kept-alive connection the target closed as it was reused: the request is sent once more on
        // a new one, under the same Idempotency-Key (the target applies an action once per key).
        if (e.reusedSocket && !e.answered && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) {
          attempts++;
          return this.post(url, body, headers);
        }
        throw e;
      });
    } catch (e) {
      return { status: 'outcome_unknown', error: `webhook request failed: ${(e as Error).message}` };
    }
    if (answer.status >= 200 && answer.status < 300) return { status: 'executed', externalRequestId: answer.requestId, attempts };
    if (TRY_LATER.has(answer.status)) return { status: 'outcome_unknown', error: `webhook answered ${answer.status}: not now, to be sent again` };
    if (answer.status >= 400 && answer.status < 500) return { status: 'failed', error: `webhook answered ${answer.status}` };
    return { status: 'outcome_unknown', error: `webhook answered ${answer.status}` };
  }

  /** One POST, answered (status and request id, body drained) within the timeout, or rejected. */
  private post(url: URL, body: string, headers: Record<string, string>): Promise<{ status: number; requestId?: string }> {
    const https = url.protocol === 'https:';
    let answered = false;
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(
        url,
        {
          method: 'POST',
          agent: https ? this.agents.https : this.agents.http,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers },
        },
        (res) => {
          answered = true;
          const requestId = res.headers['x-request-id'];
          res.on('error', (e) => {
            clearTimeout(timer);
            reject(e);
          });
          res.on('end', () => {
            // Answered: the timer must not fire later, when the connection may carry another request.
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, requestId: Array.isArray(requestId) ? requestId[0] : requestId });
          });
          res.resume();
        },
      );
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      req.on('error', (e: RequestError) => {
        clearTimeout(timer);
        e.reusedSocket = req.reusedSocket;
        e.answered = answered;
        reject(e);
      });
      req.end(body);
    });
  }
}
