import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SpanStatusCode } from '@opentelemetry/api';
import { inSpan, SpanKind, traceHeaders } from '@countersign/tracing';
import { Connector, ConnectorCapabilities, ConnectorRequest, ConnectorResult, Delivery, retryAfterMs } from './connector';

/** A failed request, and whether it went out on a kept-alive connection and got any answer. */
type RequestError = Error & { code?: string; reusedSocket?: boolean; answered?: boolean };

/** A target's answer: its status, and the headers the connector reads. */
interface Answer {
  status: number;
  requestId?: string;
  retryAfter?: string;
}

/** The connections to a target (per scheme): a call beyond them would wait in the agent's queue. */
const WEBHOOK_SOCKETS = 64;

/**
 * 4xx answers that refuse nothing for good: 408 (the target gave up waiting for the request), 425 (too early) and 429
 * (too many).
 */
const TRY_LATER = new Set([408, 425, 429]);

/**
 * What a target's `X-Request-Id` may be to be kept (in the executed event, the audit trail, the agent's timeline): an
 * identifier. Anything else is the target's text (15,000 characters, an echo of a header or of the parameters: hostile
 * target probe, 2026-12-06) and is dropped.
 */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * Sends the action to a configured URL as JSON with an `Idempotency-Key` header. 2xx is executed (202 included: the
 * target took it under its key), 4xx failed (the target refused it), but for 408, 425 and 429, which say "not now"
 * (`TRY_LATER`); a timeout, a 5xx, a 1xx or 3xx it was not asked for, or a dropped connection may have taken effect, so
 * it is `outcome_unknown`, and so is "not now": the reconciler settles it by sending it again under the same key, never
 * a final failure for a doubt that passes. A refusal of a delivery after the first under a key (the reconciler's
 * re-send, or this connector's second request) is no proof either: the first may have been applied, and a target still
 * applying it answers 409 (hostile target probe, 2026-12-06: `failed` was recorded while the target applied the
 * refund). It is `outcome_unknown` too. An answer's `Retry-After` (a 429 or a 503, usually) goes with an unknown outcome:
 * nothing is sent again before it (`retryAfterMs`). Plain `node:http` over kept-alive connections: with `fetch`
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

  execute(request: ConnectorRequest, idempotencyKey: string, delivery: Delivery = {}): Promise<ConnectorResult> {
    const url = new URL(typeof this.url === 'string' ? this.url : this.url());
    const attributes = { 'http.request.method': 'POST', 'server.address': url.hostname, 'countersign.connector': this.name };
    return inSpan('POST', { kind: SpanKind.CLIENT, attributes }, async (span, ctx) => {
      const result = await this.call(url, request, idempotencyKey, traceHeaders(ctx), delivery);
      if (result.status !== 'executed') span.setStatus({ code: SpanStatusCode.ERROR, message: result.status });
      return result;
    });
  }

  private async call(url: URL, request: ConnectorRequest, idempotencyKey: string, trace: Record<string, string>, delivery: Delivery): Promise<ConnectorResult> {
    const body = JSON.stringify(request);
    const headers = { ...this.headers, ...trace, 'Idempotency-Key': idempotencyKey, 'X-Countersign-Action-Id': request.actionId };
    // One deadline for the call, a second request included: the executor makes the call only while its claim's lease
    // covers `timeoutMs`, and a call that outlived it was re-sent by the reconciler while it ran (hostile target probe).
    const deadline = Date.now() + this.timeoutMs;
    let answer: Answer;
    let attempts = 1;
    try {
      answer = await this.post(url, body, headers, deadline).catch((e: RequestError) => {
        // A kept-alive connection the target closed as it was reused: the request is sent once more on a new one, under
        // the same Idempotency-Key, to a target that applies an action once per key only. The request may have arrived
        // (and been applied) before the reset: to any other target a second request is a second execution (hostile
        // target probe, 2026-12-06: a refund applied twice with `WEBHOOK_IDEMPOTENT=false`).
        if (this.capabilities.idempotentByKey && e.reusedSocket && !e.answered && (e.code === 'ECONNRESET' || e.code === 'EPIPE') && Date.now() < deadline) {
          attempts++;
          return this.post(url, body, headers, deadline);
        }
        throw e;
      });
    } catch (e) {
      return { status: 'outcome_unknown', error: `webhook request failed: ${(e as Error).message}` };
    }
    if (answer.status >= 200 && answer.status < 300) {
      const externalRequestId = answer.requestId !== undefined && REQUEST_ID.test(answer.requestId) ? answer.requestId : undefined;
      return { status: 'executed', ...(externalRequestId && { externalRequestId }), attempts };
    }
    const unknown = (error: string): ConnectorResult => {
      const wait = retryAfterMs(answer.retryAfter);
      return wait === undefined
        ? { status: 'outcome_unknown', error }
        : { status: 'outcome_unknown', error: `${error} (the target asks to wait ${Math.ceil(wait / 1000)} s)`, retryAfterMs: wait };
    };
    if (TRY_LATER.has(answer.status)) return unknown(`webhook answered ${answer.status}: not now, to be sent again`);
    if (answer.status >= 400 && answer.status < 500) {
      if (delivery.again || attempts > 1)
        return unknown(`webhook answered ${answer.status} to a delivery after the first under its key: the first may have been applied`);
      return { status: 'failed', error: `webhook answered ${answer.status}` };
    }
    return unknown(`webhook answered ${answer.status}`);
  }

  /**
   * One POST, answered (status and request id, body drained) by `deadline`, or rejected: settled by then whatever the
   * target does. A 101 nobody asked for destroyed the request without an error or an answer, the timer's `destroy`
   * then did nothing, and the call never ended (hostile target probe, 2026-12-06: a partition, a connection and the
   * reconciler's look held for good). So the timer rejects by itself, and so does a close without an answer.
   */
  private post(url: URL, body: string, headers: Record<string, string>, deadline: number): Promise<Answer> {
    const https = url.protocol === 'https:';
    let answered = false;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (done: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        done();
      };
      const fail = (e: RequestError) =>
        settle(() => {
          e.reusedSocket = req.reusedSocket;
          e.answered = answered;
          reject(e);
        });
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
          const retryAfter = res.headers['retry-after'];
          res.on('error', (e) => fail(e));
          // Answered: the timer must not fire later, when the connection may carry another request.
          res.on('end', () =>
            settle(() =>
              resolve({ status: res.statusCode ?? 0, requestId: Array.isArray(requestId) ? requestId[0] : requestId, ...(retryAfter && { retryAfter }) }),
            ),
          );
          res.on('close', () => {
            if (!res.complete) fail(new Error('the connection closed in the middle of the answer'));
          });
          res.resume();
        },
      );
      const timer = setTimeout(
        () => {
          const e = new Error(`no answer within ${this.timeoutMs} ms`);
          req.destroy(e);
          fail(e);
        },
        Math.max(0, deadline - Date.now()),
      );
      req.on('error', (e: RequestError) => fail(e));
      // A protocol switch nobody asked for: the connection is the target's no more, and what it did is unknown.
      req.on('upgrade', (_res, socket) => {
        answered = true;
        socket.destroy();
        fail(new Error('the target answered 101 (a protocol switch nobody asked for)'));
      });
      req.on('close', () => {
        if (!answered) fail(new Error('the connection closed without an answer'));
      });
      req.end(body);
    });
  }
}
