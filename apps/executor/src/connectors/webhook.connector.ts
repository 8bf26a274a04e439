import { Connector, ConnectorRequest, ConnectorResult } from './connector';

/**
 * Sends the action to a configured URL as JSON with an `Idempotency-Key` header. 2xx is executed,
 * 4xx failed (the target refused it); a timeout, a 5xx or a dropped connection may have taken
 * effect, so it is `outcome_unknown`.
 */
export class WebhookConnector implements Connector {
  readonly name = 'webhook';

  /** `url` may be a function, for a target whose address is known only after start (the embedded sink). */
  constructor(
    private readonly url: string | (() => string),
    private readonly timeoutMs = 10_000,
  ) {}

  async execute(request: ConnectorRequest, idempotencyKey: string): Promise<ConnectorResult> {
    let response: Response;
    try {
      response = await fetch(typeof this.url === 'string' ? this.url : this.url(), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey, 'X-Countersign-Action-Id': request.actionId },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      return { status: 'outcome_unknown', error: `webhook request failed: ${(e as Error).message}` };
    }
    const requestId = response.headers.get('x-request-id') ?? undefined;
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return { status: 'executed', externalRequestId: requestId };
    if (response.status >= 400 && response.status < 500) return { status: 'failed', error: `webhook answered ${response.status}` };
    return { status: 'outcome_unknown', error: `webhook answered ${response.status}` };
  }
}
