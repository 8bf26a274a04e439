import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

export interface Receipt {
  idempotencyKey: string;
  actionId: string;
  body: Record<string, unknown>;
  /** When the target received it (ms since the epoch). */
  at: number;
  /** The W3C trace context the call carried (the executor's client span), if any. */
  traceparent?: string;
}

/**
 * A target system for the webhook connector: records every request; answers 200 with an
 * `X-Request-Id`. It counts effects by Idempotency-Key, as a well-behaved target would.
 * `delayMs`: it applies (records) a request at once and answers only that much later, as a slow target does.
 */
export async function startWebhookSink(
  options: { delayMs?: number } = {},
): Promise<{ url: string; receipts: Receipt[]; effects(actionId: string): number; close(): Promise<void> }> {
  const receipts: Receipt[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      // Only a call as the webhook connector makes it is an effect: anything else is answered, not recorded, and never
      // stops the process (distributed-mode probe, 2026-12-07: `curl -d hello` killed the launcher, and a GET was
      // recorded as an effect).
      const refuse = (status: number, message: string) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ message }));
      };
      if (req.method !== 'POST') return refuse(405, 'the stand-in target takes POST only, as the webhook connector sends it');
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        return refuse(400, 'the body is not JSON');
      }
      const traceparent = typeof req.headers.traceparent === 'string' ? req.headers.traceparent : undefined;
      receipts.push({
        idempotencyKey: String(req.headers['idempotency-key']),
        actionId: String(req.headers['x-countersign-action-id']),
        body,
        at: Date.now(),
        traceparent,
      });
      const requestId = `sink-${receipts.length}`;
      const answer = () => {
        if (res.destroyed) return; // the caller is gone (killed mid-call): the effect stays applied
        res.writeHead(200, { 'Content-Type': 'application/json', 'X-Request-Id': requestId });
        res.end('{"ok":true}');
      };
      if (options.delayMs) setTimeout(answer, options.delayMs);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/effects`,
    receipts,
    effects: (actionId) => new Set(receipts.filter((r) => r.actionId === actionId).map((r) => r.idempotencyKey)).size,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
