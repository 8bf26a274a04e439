import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { ConnectorRequest, MAX_RETRY_AFTER_MS, retryAfterMs } from './connector';
import { WebhookConnector } from './webhook.connector';

// real: an HTTP server on 127.0.0.1 standing in for the target system; fake: nothing.
const request: ConnectorRequest = {
  actionId: 'a-1',
  actionType: 'support.refund',
  target: 'order-7',
  parameters: { amount: 20, card: '4111 1111 1111 1111' },
  tenant: 'acme',
  digest: 'd'.repeat(64),
};

describe('WebhookConnector', () => {
  let server: Server;
  let url: string;
  let answer: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  const received: Array<{ headers: IncomingMessage['headers']; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        answer(req, res, body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/effects`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends the action as approved with its idempotency key, and reads the target request id on 2xx', async () => {
    answer = (_req, res) => res.writeHead(201, { 'X-Request-Id': 'target-42' }).end('{"ok":true}');
    const result = await new WebhookConnector(url).execute(request, 'key-1');
    expect(result).toEqual({ status: 'executed', externalRequestId: 'target-42', attempts: 1 });
    const last = received[received.length - 1];
    expect(last.headers).toMatchObject({ 'idempotency-key': 'key-1', 'x-countersign-action-id': 'a-1', 'content-type': 'application/json' });
    expect(JSON.parse(last.body)).toEqual(request);
  });

  it('sends its configured headers (its credentials for the target) with every request, never over its own', async () => {
    answer = (_req, res) => res.writeHead(200).end();
    const connector = new WebhookConnector(url, 10_000, { Authorization: 'Bearer target-token', 'idempotency-key': 'not-mine' });
    expect(await connector.execute(request, 'key-h')).toMatchObject({ status: 'executed' });
    expect(received[received.length - 1].headers).toMatchObject({ authorization: 'Bearer target-token', 'idempotency-key': 'key-h' });
  });

  it('calls a 4xx failed (the target refused) and a 5xx outcome_unknown (it may have acted)', async () => {
    answer = (_req, res) => res.writeHead(422).end('no such order');
    expect(await new WebhookConnector(url).execute(request, 'key-2')).toEqual({ status: 'failed', error: 'webhook answered 422' });
    // "Not now" is no refusal: the reconciler sends it again under the same key (a transient doubt is never made final).
    for (const status of [408, 429]) {
      answer = (_req, res) => res.writeHead(status).end('slow down');
      expect(await new WebhookConnector(url).execute(request, 'key-3')).toEqual({
        status: 'outcome_unknown',
        error: `webhook answered ${status}: not now, to be sent again`,
      });
    }
    answer = (_req, res) => res.writeHead(503).end();
    expect(await new WebhookConnector(url).execute(request, 'key-3')).toEqual({ status: 'outcome_unknown', error: 'webhook answered 503' });
  });

  it("carries the target's Retry-After with an unknown outcome: seconds or an HTTP-date, capped at 15 minutes; anything else is ignored", async () => {
    const withRetryAfter = async (status: number, value: string) => {
      answer = (_req, res) => res.writeHead(status, { 'Retry-After': value }).end();
      return new WebhookConnector(url).execute(request, 'key-4');
    };
    expect(await withRetryAfter(429, '120')).toEqual({
      status: 'outcome_unknown',
      error: 'webhook answered 429: not now, to be sent again (the target asks to wait 120 s)',
      retryAfterMs: 120_000,
    });
    const inFiveMinutes = new Date(Math.ceil((Date.now() + 300_000) / 1000) * 1000).toUTCString();
    const byDate = await withRetryAfter(503, inFiveMinutes);
    expect(byDate).toMatchObject({ status: 'outcome_unknown', error: expect.stringMatching(/^webhook answered 503 \(the target asks to wait \d+ s\)$/) });
    expect((byDate as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(290_000);
    expect((byDate as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(301_000);
    // A target cannot park an action for a day.
    expect(await withRetryAfter(429, '86400')).toMatchObject({ retryAfterMs: MAX_RETRY_AFTER_MS });
    for (const unreadable of ['soon', '-5', '1.5', 'Sun, 06 Dec 2026', '99999999999'])
      expect(await withRetryAfter(429, unreadable)).toEqual({ status: 'outcome_unknown', error: 'webhook answered 429: not now, to be sent again' });
    // A refusal stays a refusal: a wait goes only with an unknown outcome.
    expect(await withRetryAfter(422, '120')).toEqual({ status: 'failed', error: 'webhook answered 422' });
    // A date gone by asks for no wait.
    expect(retryAfterMs('Sun, 06 Dec 2026 10:00:00 GMT', Date.parse('2026-12-06T11:00:00Z'))).toBe(0);
    expect(retryAfterMs('Sun, 06 Dec 2026 10:00:30 GMT', Date.parse('2026-12-06T10:00:00Z'))).toBe(30_000);
    expect(retryAfterMs(undefined)).toBeUndefined();
  });

  it('calls no answer in time, or no connection, outcome_unknown', async () => {
    answer = () => undefined; // never answers
    const slow = await new WebhookConnector(url, 200).execute(request, 'key-4');
    expect(slow).toMatchObject({ status: 'outcome_unknown', error: expect.stringMatching(/^webhook request failed: /) });
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const refused = await new WebhookConnector(`http://127.0.0.1:${port}/effects`).execute(request, 'key-5');
    expect(refused).toMatchObject({ status: 'outcome_unknown', error: expect.stringMatching(/^webhook request failed: /) });
  });

  it('reuses its connection for the next call', async () => {
    answer = (_req, res) => res.writeHead(200).end();
    const connector = new WebhookConnector(url);
    let opened = 0;
    const count = () => opened++;
    server.on('connection', count);
    try {
      for (let i = 0; i < 3; i++) expect(await connector.execute(request, `key-reuse-${i}`)).toMatchObject({ status: 'executed' });
    } finally {
      server.off('connection', count);
    }
    expect(opened).toBe(1);
  });

  it('sends once more, on a new connection and under the same key, when the target drops a reused one, and counts both', async () => {
    // The target drops every connection at its second request (as when its keep-alive ran out just as
    // the connection was reused), and answers the first request of each connection.
    const requestsOn = new WeakMap<object, number>();
    answer = (req, res) => {
      const n = (requestsOn.get(req.socket) ?? 0) + 1;
      requestsOn.set(req.socket, n);
      if (n === 2) req.socket.destroy();
      else res.writeHead(200, { 'X-Request-Id': `r-${received.length}` }).end();
    };
    const connector = new WebhookConnector(url);
    expect(await connector.execute(request, 'key-drop-1')).toMatchObject({ status: 'executed' });
    const before = received.length;
    expect(await connector.execute(request, 'key-drop-2')).toMatchObject({ status: 'executed', attempts: 2 });
    expect(received.slice(before).map((r) => r.headers['idempotency-key'])).toEqual(['key-drop-2', 'key-drop-2']);
  });

  it('keeps a reused connection alive past the timeout of the calls it carried', async () => {
    answer = (_req, res) => res.writeHead(200).end();
    const connector = new WebhookConnector(url, 100);
    let opened = 0;
    const count = () => opened++;
    server.on('connection', count);
    try {
      expect(await connector.execute(request, 'key-t1')).toMatchObject({ status: 'executed' });
      await new Promise((r) => setTimeout(r, 250));
      expect(await connector.execute(request, 'key-t2')).toMatchObject({ status: 'executed' });
    } finally {
      server.off('connection', count);
    }
    expect(opened).toBe(1);
  });

  // Hostile target probe, 2026-12-06: what a target answers must not keep a call open, execute it twice, or write its text
  // into the trail.
  describe('against a hostile target', () => {
    it('ends a call the target answers with a protocol switch nobody asked for, within its timeout', async () => {
      answer = (_req, res) => void res.socket!.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n');
      const started = Date.now();
      const result = await new WebhookConnector(url, 2_000).execute(request, 'key-101');
      expect(result).toEqual({ status: 'outcome_unknown', error: 'webhook request failed: the target answered 101 (a protocol switch nobody asked for)' });
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('does not send again on a dropped reused connection to a target that does not apply a key once: unknown, one request', async () => {
      const requestsOn = new WeakMap<object, number>();
      answer = (req, res) => {
        const n = (requestsOn.get(req.socket) ?? 0) + 1;
        requestsOn.set(req.socket, n);
        if (n === 2) req.socket.destroy();
        else res.writeHead(200).end();
      };
      const connector = new WebhookConnector(url, 10_000, {}, { idempotentByKey: false });
      expect(await connector.execute(request, 'key-once-1')).toMatchObject({ status: 'executed' });
      const before = received.length;
      expect(await connector.execute(request, 'key-once-2')).toMatchObject({ status: 'outcome_unknown' });
      expect(received.slice(before).map((r) => r.headers['idempotency-key'])).toEqual(['key-once-2']);
    });

    it("gives the second request only what is left of the call's timeout", async () => {
      const requestsOn = new WeakMap<object, number>();
      answer = (req, res) => {
        const n = (requestsOn.get(req.socket) ?? 0) + 1;
        requestsOn.set(req.socket, n);
        if (n === 2) setTimeout(() => req.socket.destroy(), 250);
        else setTimeout(() => res.writeHead(200).end(), 200);
      };
      const connector = new WebhookConnector(url, 350);
      expect(await connector.execute(request, 'key-deadline-1')).toMatchObject({ status: 'executed' });
      // The first request is dropped at 250 ms; the second would be answered at 450 ms, past the call's 350 (given the
      // whole 350 again, it would be answered in time and executed). Timers fire in the order they are due, however busy
      // the machine, so this holds without a bound on the elapsed time.
      expect(await connector.execute(request, 'key-deadline-2')).toMatchObject({ status: 'outcome_unknown' });
    });

    it('takes a refusal of a delivery after the first under the key as unknown (the first may have been applied), and 425 as not now', async () => {
      answer = (_req, res) => res.writeHead(409).end('a request with this key is in progress');
      expect(await new WebhookConnector(url).execute(request, 'key-again', { again: true })).toEqual({
        status: 'outcome_unknown',
        error: 'webhook answered 409 to a delivery after the first under its key: the first may have been applied',
      });
      expect(await new WebhookConnector(url).execute(request, 'key-first')).toEqual({ status: 'failed', error: 'webhook answered 409' });
      answer = (_req, res) => res.writeHead(425).end();
      expect(await new WebhookConnector(url).execute(request, 'key-early')).toMatchObject({ status: 'outcome_unknown' });
    });

    it("keeps the target's request id only when it is an identifier", async () => {
      for (const [id, kept] of [
        ['req_01H8XYZ:42', true],
        ['Bearer SECRET-TARGET-TOKEN {"amount":20}', false],
        ['x'.repeat(129), false],
      ] as const) {
        answer = (_req, res) => res.writeHead(200, { 'X-Request-Id': id }).end();
        const result = await new WebhookConnector(url).execute(request, `key-id-${kept}`);
        expect(result).toEqual({ status: 'executed', attempts: 1, ...(kept && { externalRequestId: id }) });
      }
    });
  });
});
