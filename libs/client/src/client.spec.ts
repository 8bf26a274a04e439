import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { CountersignClient } from './client';
import {
  BadRequestError,
  ConflictError,
  CountersignError,
  DecisionTimeoutError,
  ForbiddenError,
  PayloadTooLargeError,
  RateLimitedError,
  UnauthorizedError,
  UnavailableError,
  UnexpectedAnswerError,
} from './errors';
import { isDecided, isFinal } from './index';
import type { ProposalInput } from './types';

// real: CountersignClient, Node's fetch, an HTTP server on 127.0.0.1; fake: the server's answers (scripted per test).
type Seen = { method: string; url: string; headers: IncomingMessage['headers']; body: string };
type Answer = (req: Seen, res: ServerResponse) => void;

describe('CountersignClient', () => {
  let server: Server;
  let seen: Seen[];
  let answer: Answer;
  let client: CountersignClient;

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const proposal: ProposalInput = {
    actionType: 'support.refund',
    target: 'order-1',
    parameters: { amount: 12.5, currency: 'EUR', reason: 'late' },
    proposer: { agentId: 'support-copilot', model: { name: 'm', version: '1' }, promptTemplateVersion: 'v1' },
    confidence: 0.9,
    tenant: 'acme',
    region: 'eu-west',
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const s = { method: req.method!, url: req.url!, headers: req.headers, body };
        seen.push(s);
        answer(s, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    seen = [];
    client = new CountersignClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, token: 't0k', backoffMs: 5, maxBackoffMs: 20 });
  });

  it('retries a 503 and a dropped connection under the same Idempotency-Key, and returns the key', async () => {
    let n = 0;
    answer = (_req, res) => {
      n += 1;
      if (n === 1) return json(res, 503, { message: 'a dependency is unavailable; retry later' });
      if (n === 2) return res.socket!.destroy(); // the connection drops before an answer
      json(res, 202, { actionId: 'a-1', status: 'proposed' });
    };
    const result = await client.propose(proposal);
    expect(result).toMatchObject({ actionId: 'a-1', status: 'proposed', idempotencyKey: expect.stringMatching(/^cs-[0-9a-f-]{36}$/) });
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.headers['idempotency-key']))).toEqual(new Set([result.idempotencyKey]));
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/proposals', headers: { authorization: 'Bearer t0k', 'content-type': 'application/json' } });
    expect(JSON.parse(seen[2].body)).toEqual(proposal);
  });

  it('gives the key it made with the error, so a resend reaches the same action (red team, 2026-12-04: two replies to one customer)', async () => {
    answer = (_req, res) => json(res, 503, { message: 'a dependency is unavailable; retry later' });
    const error = await client.propose(proposal).catch((e) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.idempotencyKey).toMatch(/^cs-[0-9a-f-]{36}$/);
    expect(seen.every((s) => s.headers['idempotency-key'] === error.idempotencyKey)).toBe(true);
    // Resent under it: the same key reaches the server.
    answer = (_req, res) => json(res, 202, { actionId: 'a-1', status: 'proposed' });
    await expect(client.propose(proposal, { idempotencyKey: error.idempotencyKey })).resolves.toMatchObject({ idempotencyKey: error.idempotencyKey });
    expect(seen.at(-1)!.headers['idempotency-key']).toBe(error.idempotencyKey);
  });

  it('retries a gateway’s 502 and 504 under the same key, and gives up with UnavailableError naming the status', async () => {
    let n = 0;
    answer = (_req, res) => {
      n += 1;
      // A proxy in front of the API: an HTML page, not Countersign's JSON.
      if (n === 1) return (res.writeHead(502, { 'Content-Type': 'text/html' }), res.end('<html><body>502 Bad Gateway</body></html>'));
      if (n === 2) return (res.writeHead(504, { 'Content-Type': 'text/html' }), res.end('<html><body>504 Gateway Time-out</body></html>'));
      json(res, 202, { actionId: 'a-1', status: 'proposed' });
    };
    const result = await client.propose(proposal);
    expect(result).toMatchObject({ actionId: 'a-1' });
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.headers['idempotency-key']))).toEqual(new Set([result.idempotencyKey]));

    seen = [];
    answer = (_req, res) => (res.writeHead(504, { 'Content-Type': 'text/html' }), res.end('<html>504 Gateway Time-out</html>'));
    const error = await client.propose(proposal).catch((e) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({ status: 504, idempotencyKey: seen[0].headers['idempotency-key'] });
    expect(seen).toHaveLength(5);
  });

  it('retries, under the same key, an answer whose body breaks off, as a lost connection', async () => {
    let n = 0;
    answer = (_req, res) => {
      n += 1;
      if (n > 1) return json(res, 202, { actionId: 'a-1', status: 'proposed' });
      // The status and half the body, then the connection goes.
      res.writeHead(202, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.write('{"actionId":');
      setTimeout(() => res.socket!.destroy(), 10);
    };
    await expect(client.propose(proposal)).resolves.toMatchObject({ actionId: 'a-1' });
    expect(seen).toHaveLength(2);
    expect(seen[0].headers['idempotency-key']).toBe(seen[1].headers['idempotency-key']);
  });

  it('refuses a duration that is not a finite number of milliseconds, and rounds a fractional one up', async () => {
    const base = { baseUrl: 'http://127.0.0.1:1', token: 't' };
    for (const bad of [NaN, -1, Infinity])
      expect(() => new CountersignClient({ ...base, requestTimeoutMs: bad })).toThrow(/requestTimeoutMs must be a finite number/);
    await expect(client.awaitDecision('a-1', { timeoutMs: NaN })).rejects.toThrow(/timeoutMs must be a finite number/);
    answer = (_req, res) => json(res, 200, { actionId: 'a-2', status: 'autonomous', lane: 'autonomous', timeline: [] });
    await expect(client.awaitDecision('a-2', { timeoutMs: 1500.5 })).resolves.toMatchObject({ status: 'autonomous' });
    expect(new URL(seen[0].url, 'http://x').searchParams.get('timeoutMs')).toMatch(/^\d+$/);
  });

  it('sends the caller’s Idempotency-Key, and gives up with UnavailableError after its retries', async () => {
    answer = (_req, res) => json(res, 503, { message: 'a dependency is unavailable; retry later' });
    const error = await client.propose(proposal, { idempotencyKey: 'order-1-refund' }).catch((e) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({ status: 503, message: 'a dependency is unavailable; retry later' });
    expect(seen).toHaveLength(5); // the first try and 4 retries
    expect(seen.every((s) => s.headers['idempotency-key'] === 'order-1-refund')).toBe(true);
  });

  it.each([
    [400, BadRequestError, { message: 'parameters.amount: expected number, received string' }],
    [401, UnauthorizedError, { message: 'missing or unknown bearer token' }],
    [403, ForbiddenError, { message: 'principal a may not propose as agent "b"' }],
    [409, ConflictError, { message: 'Idempotency-Key k was used for another proposal' }],
    [413, PayloadTooLargeError, { message: 'request entity too large' }],
  ])('never retries a %i: throws %p with the server’s message', async (status, type, body) => {
    answer = (_req, res) => json(res, status, { statusCode: status, ...body });
    const error = await client.propose(proposal).catch((e) => e);
    expect(error).toBeInstanceOf(type);
    expect(error).toBeInstanceOf(CountersignError);
    expect(error).toMatchObject({ status, message: body.message });
    expect(seen).toHaveLength(1);
  });

  it('waits out a 429 whose Retry-After is within maxBackoffMs and sends again under the same key', async () => {
    let n = 0;
    answer = (_req, res) =>
      ++n === 1 ? json(res, 429, { message: 'over its rate' }, { 'Retry-After': '1' }) : json(res, 202, { actionId: 'a-9', status: 'proposed' });
    const patient = new CountersignClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, token: 't0k', maxBackoffMs: 5_000 });
    const started = Date.now();
    await expect(patient.propose(proposal, { idempotencyKey: 'k-429' })).resolves.toMatchObject({ actionId: 'a-9' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(seen.map((s) => s.headers['idempotency-key'])).toEqual(['k-429', 'k-429']);
  });

  it('throws RateLimitedError on 429 with a Retry-After longer than maxBackoffMs, without retrying', async () => {
    answer = (_req, res) => json(res, 429, { message: 'too many proposals' }, { 'Retry-After': '7' });
    const error = await client.propose(proposal).catch((e) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ status: 429, message: 'too many proposals', retryAfterSeconds: 7 });
    expect(seen).toHaveLength(1);
  });

  it('stops when aborted: a request the server holds, and a wait between retries', async () => {
    const held: ServerResponse[] = [];
    answer = (_req, res) => void held.push(res);
    const controller = new AbortController();
    const pending = client.propose(proposal, { signal: controller.signal }).catch((e) => e);
    await until(() => seen.length === 1);
    controller.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });

    answer = (_req, res) => json(res, 503, { message: 'away' });
    const slow = new CountersignClient({ baseUrl: client['baseUrl'], token: 't', backoffMs: 60_000, maxBackoffMs: 60_000 });
    const second = new AbortController();
    const retrying = slow.propose(proposal, { signal: second.signal }).catch((e) => e);
    await until(() => seen.length === 2);
    second.abort();
    expect(await retrying).toMatchObject({ name: 'AbortError' });
    expect(seen).toHaveLength(2);
    for (const res of held) res.destroy();
  });

  it('awaitDecision long-polls (no busy loop), waits through a 404, and resolves with the decided view', async () => {
    const views = [null, 'in_review', 'autonomous'];
    answer = (req, res) => {
      const status = views.shift();
      if (!status) return json(res, 404, { message: 'no action a-2' });
      json(res, 200, { actionId: 'a-2', status, lane: status === 'in_review' ? 'review' : 'autonomous', timeline: [] });
    };
    await expect(client.awaitDecision('a-2', { timeoutMs: 60_000 })).resolves.toMatchObject({ status: 'autonomous' });
    expect(seen).toHaveLength(3);
    for (const s of seen) {
      const url = new URL(s.url, 'http://x');
      expect(url.pathname).toBe('/v1/actions/a-2');
      expect(url.searchParams.get('waitFor')).toBe('decision');
      expect(Number(url.searchParams.get('timeoutMs'))).toBeLessThanOrEqual(30_000);
    }
  });

  it('awaitDecision takes a 404 that is not "no action" (no such route: not Countersign) as an answer, not a wait', async () => {
    answer = (_req, res) => json(res, 404, { message: 'Cannot GET /api/v1/actions/a-2' });
    await expect(client.awaitDecision('a-2', { timeoutMs: 60_000 })).rejects.toThrow(/Cannot GET/);
    expect(seen).toHaveLength(1);
  });

  it("awaitDecision with waitFor 'final' waits through a hold (held actions still execute)", async () => {
    const views = ['autonomous', 'held', 'executed'];
    answer = (_req, res) => {
      const status = views.shift();
      json(res, 200, { actionId: 'a-5', status, lane: 'autonomous', timeline: [] });
    };
    await expect(client.awaitDecision('a-5', { timeoutMs: 60_000, waitFor: 'final' })).resolves.toMatchObject({ status: 'executed' });
    expect(seen).toHaveLength(3);
  });

  it("awaitDecision with waitFor 'final' waits through an unknown outcome until the executor settles it", async () => {
    const views = ['autonomous', 'outcome_unknown', 'outcome_unknown', 'executed'];
    answer = (_req, res) => json(res, 200, { actionId: 'a-9', status: views.shift(), lane: 'autonomous', timeline: [] });
    await expect(client.awaitDecision('a-9', { timeoutMs: 60_000, waitFor: 'final' })).resolves.toMatchObject({ status: 'executed' });
    expect(seen).toHaveLength(4);
    // A decision it is, though: the lane was chosen long before.
    answer = (_req, res) => json(res, 200, { actionId: 'a-9', status: 'outcome_unknown', lane: 'autonomous', timeline: [] });
    await expect(client.awaitDecision('a-9', { timeoutMs: 60_000 })).resolves.toMatchObject({ status: 'outcome_unknown' });
  });

  it('awaitDecision that runs out on an unknown outcome says it is being settled and must not be proposed again', async () => {
    const waiting = 'outcome_unknown: the executor cannot tell yet whether this action took effect and is settling it';
    answer = (_req, res) => json(res, 200, { actionId: 'a-10', status: 'outcome_unknown', lane: 'autonomous', waiting, timeline: [] });
    const error = await client.awaitDecision('a-10', { timeoutMs: 50, waitFor: 'final' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecisionTimeoutError);
    expect((error as Error).message).toMatch(
      /^action a-10 not final within 50 ms: its outcome is unknown and the executor is settling it .*do not propose it again/,
    );
    expect((error as DecisionTimeoutError).lastView).toMatchObject({ status: 'outcome_unknown', waiting });
    // Any other status runs out as before.
    answer = (_req, res) => json(res, 200, { actionId: 'a-10', status: 'approved', lane: 'review', timeline: [] });
    await expect(client.awaitDecision('a-10', { timeoutMs: 50, waitFor: 'final' })).rejects.toThrow(/^action a-10 not final within 50 ms$/);
  });

  it('isFinal and isDecided are the rule awaitDecision waits by: an unknown outcome is decided, not final', () => {
    for (const status of ['executed', 'failed', 'refused', 'prohibited', 'rejected', 'expired', 'revised'] as const) expect(isFinal(status)).toBe(true);
    for (const status of ['proposed', 'in_review', 'autonomous', 'approved', 'held', 'outcome_unknown'] as const) expect(isFinal(status)).toBe(false);
    expect(isDecided('outcome_unknown')).toBe(true);
    expect(isDecided('in_review')).toBe(false);
  });

  it("takes no answer that is not Countersign's for a decision: an unknown status, another action, a path for an action id", async () => {
    answer = (_req, res) => json(res, 200, { actionId: 'a-6', status: 'totally-not-a-status', lane: 'autonomous', timeline: [] });
    await expect(client.awaitDecision('a-6', { timeoutMs: 5_000 })).rejects.toThrow(UnexpectedAnswerError);
    answer = (_req, res) => json(res, 200, { actionId: 'a-7', status: 'executed', lane: 'autonomous', timeline: [] });
    await expect(client.awaitDecision('a-6', { timeoutMs: 5_000, waitFor: 'final' })).rejects.toThrow(/about another action than a-6/);
    await expect(client.status('a-6')).rejects.toThrow(UnexpectedAnswerError);
    answer = (_req, res) => json(res, 200, { actionId: 'a-6', status: 'executed', lane: 'autonomous', timeline: [{ status: 'made-up' }] });
    await expect(client.status('a-6')).rejects.toThrow(UnexpectedAnswerError);
    answer = (_req, res) => json(res, 202, { actionId: '../../admin', status: 'executed' });
    await expect(client.propose(proposal)).rejects.toThrow(UnexpectedAnswerError);
    answer = (_req, res) => json(res, 202, { actionId: 'a-8', status: 'done' });
    await expect(client.propose(proposal)).rejects.toThrow(UnexpectedAnswerError);
  });

  it('refuses a base URL that would send the token in clear: tls with http:, or http: off this machine unless asked', () => {
    expect(() => new CountersignClient({ baseUrl: 'http://127.0.0.1:8080', token: 't', tls: { ca: 'pem' } })).toThrow(/tls is for an https: baseUrl/);
    expect(() => new CountersignClient({ baseUrl: 'http://countersign.internal:8080', token: 't' })).toThrow(/would send the token in clear/);
    expect(() => new CountersignClient({ baseUrl: 'ftp://127.0.0.1', token: 't' })).toThrow(/must be https:/);
    expect(() => new CountersignClient({ baseUrl: 'not a url', token: 't' })).toThrow(/is not a URL/);
    for (const baseUrl of ['http://127.0.0.1:8080', 'http://localhost:8080', 'http://[::1]:8080', 'https://countersign.internal'])
      expect(() => new CountersignClient({ baseUrl, token: 't' })).not.toThrow();
    expect(() => new CountersignClient({ baseUrl: 'http://countersign.internal:8080', token: 't', insecureHttp: true })).not.toThrow();
  });

  it('awaitDecision ends at its own timeout with DecisionTimeoutError carrying the last view', async () => {
    // The server holds each poll for the time asked, as the orchestrator does, and the action stays in review.
    answer = (req, res) => {
      const ms = Number(new URL(req.url, 'http://x').searchParams.get('timeoutMs'));
      setTimeout(() => json(res, 200, { actionId: 'a-3', status: 'in_review', lane: 'review', timeline: [] }), ms);
    };
    const error = await client.awaitDecision('a-3', { timeoutMs: 1_500 }).catch((e) => e);
    expect(error).toBeInstanceOf(DecisionTimeoutError);
    expect(error.lastView).toMatchObject({ status: 'in_review' });
    // One long poll covers the whole wait (the second, if any, is asked for what little time is left).
    expect(seen.length).toBeLessThanOrEqual(2);
    expect(Number(new URL(seen[0].url, 'http://x').searchParams.get('timeoutMs'))).toBeGreaterThan(1_000);
  });

  it('does not follow a redirect: the token is not sent on, and the answer is an error, never an accepted proposal', async () => {
    answer = (_req, res) => {
      res.writeHead(307, { Location: 'http://127.0.0.1:9/stolen' });
      res.end();
    };
    const error = await client.propose(proposal).catch((e) => e);
    expect(error).toBeInstanceOf(UnexpectedAnswerError);
    expect(error.message).toBe(
      "POST /v1/proposals was answered 307 (a redirect to http://127.0.0.1:9/stolen): Countersign's API does not redirect, so it was not followed and the token was not sent on",
    );
    expect(seen).toHaveLength(1);
  });

  it.each([
    ['an HTML page', (res: ServerResponse) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>proxy login</html>')],
    ['an empty object', (res: ServerResponse) => json(res, 202, {})],
    ['an action id that is not text', (res: ServerResponse) => json(res, 202, { actionId: 7, status: 'proposed' })],
  ])('a success answer that is not Countersign’s (%s) is an UnexpectedAnswerError, not an accepted proposal', async (_what, send) => {
    answer = (_req, res) => send(res);
    await expect(client.propose(proposal)).rejects.toBeInstanceOf(UnexpectedAnswerError);
    await expect(client.status('a-9')).rejects.toBeInstanceOf(UnexpectedAnswerError);
  });

  it('awaitDecision waits through a server away for longer than one call’s retries (a restart), until its own deadline', async () => {
    let away = 12; // answers lost before the server is back: more than one call's 1 + 4 tries
    answer = (_req, res) => {
      if (away-- > 0) return res.socket!.destroy();
      json(res, 200, { actionId: 'a-6', status: 'autonomous', lane: 'autonomous', timeline: [] });
    };
    await expect(client.awaitDecision('a-6', { timeoutMs: 60_000 })).resolves.toMatchObject({ status: 'autonomous' });
    expect(seen.length).toBe(13);
  });

  it('a call the server never answers ends at requestTimeoutMs as a lost connection, and is retried', async () => {
    answer = () => undefined; // holds every request
    const impatient = new CountersignClient({ baseUrl: client['baseUrl'], token: 't', retries: 1, backoffMs: 5, maxBackoffMs: 5, requestTimeoutMs: 200 });
    const error = await impatient.propose(proposal).catch((e) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toMatch(/^no answer from POST \/v1\/proposals: /);
    expect(seen).toHaveLength(2);
  });

  it('awaitDecision stops when aborted, with the signal’s reason', async () => {
    answer = () => undefined; // holds the poll
    const controller = new AbortController();
    const waiting = client.awaitDecision('a-4', { timeoutMs: 60_000, signal: controller.signal }).catch((e) => e);
    await until(() => seen.length === 1);
    controller.abort(new Error('agent shutting down'));
    expect(await waiting).toMatchObject({ message: 'agent shutting down' });
  });
});

/** Waits for a condition the test's own server sets (no fixed sleeps). */
async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition();) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
