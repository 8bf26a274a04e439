import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** What the target received for one proposal (its `target` field): the idempotency keys and how often each came. */
export interface TargetRecord {
  /** Idempotency key → requests that carried it (more than one: a redelivery the target absorbed). */
  keys: Map<string, number>;
  actionIds: Set<string>;
}

/**
 * A slow, well-behaved target system for the webhook connector: it answers each request after 20–200 ms
 * (uniformly; long enough that a kill of the executor lands during calls) and applies an action once per
 * `Idempotency-Key`, as a payment provider does. Effects are counted per proposal (the request's `target`),
 * so two actions made of one proposal — a double refund — show as a duplicate even under two keys.
 */
export async function startSlowTarget(opts: { minMs?: number; maxMs?: number } = {}) {
  const [minMs, maxMs] = [opts.minMs ?? 20, opts.maxMs ?? 200];
  const byTarget = new Map<string, TargetRecord>();
  let deliveries = 0;
  let lastDeliveryAt = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let target = '?';
      try {
        target = String(JSON.parse(Buffer.concat(chunks).toString('utf8')).target);
      } catch {
        // unreadable: counted under '?'
      }
      const key = String(req.headers['idempotency-key']);
      // The effect happens when the request arrives; the answer comes later (a crash meanwhile leaves it unknown).
      const rec = byTarget.get(target) ?? { keys: new Map(), actionIds: new Set() };
      byTarget.set(target, rec);
      rec.keys.set(key, (rec.keys.get(key) ?? 0) + 1);
      rec.actionIds.add(String(req.headers['x-countersign-action-id']));
      deliveries++;
      lastDeliveryAt = Date.now();
      setTimeout(
        () => {
          res.writeHead(200, { 'Content-Type': 'application/json', 'X-Request-Id': `chaos-${deliveries}` });
          res.end('{"ok":true}');
        },
        minMs + Math.random() * (maxMs - minMs),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/effects`,
    byTarget,
    deliveries: () => deliveries,
    lastDeliveryAt: () => lastDeliveryAt,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
