import { inspect } from 'node:util';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import { createRootCa, issueCertificate } from '@countersign/pki';
import { CountersignClient } from './client';
import {
  AbortedError,
  AnswerTooLargeError,
  BadRequestError,
  CertificateError,
  ConflictError,
  CountersignError,
  DecisionTimeoutError,
  ForbiddenError,
  PayloadTooLargeError,
  RateLimitedError,
  UnauthorizedError,
  UnavailableError,
  UnexpectedAnswerError,
  UnsupportedMediaTypeError,
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

  it('sends a correlation id of its own, the same on every try of a call, and names it on an error that had no answer', async () => {
    answer = (_req, res) => res.socket!.destroy();
    const error = await client.propose(proposal).catch((e) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.httpStatus).toBeUndefined();
    expect(seen.length).toBeGreaterThan(1);
    expect(new Set(seen.map((s) => s.headers['x-correlation-id']))).toEqual(new Set([error.correlationId]));
    expect(error.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    // Another call, another id.
    await client.status('a-1').catch(() => undefined);
    expect(seen.at(-1)!.headers['x-correlation-id']).not.toBe(error.correlationId);
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
    // Past Node's timer limit a timer fires at once: a 30-day requestTimeoutMs aborted every try as it was sent.
    const days = (n: number) => n * 24 * 3600_000;
    for (const name of ['requestTimeoutMs', 'backoffMs', 'maxBackoffMs'] as const)
      expect(() => new CountersignClient({ ...base, [name]: days(30) })).toThrow(
        new RangeError(`CountersignClient: ${name} must be at most 2147483647 ms (about 24.8 days, the longest a Node timer keeps), not ${days(30)}`),
      );
    expect(() => new CountersignClient({ ...base, requestTimeoutMs: 2 ** 31 - 1 })).not.toThrow();
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
    [415, UnsupportedMediaTypeError, { message: 'a request body that is not application/json' }],
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

  it('stops when aborted, with an AbortedError that carries the key the request went out under: a held request, a wait between retries', async () => {
    const held: ServerResponse[] = [];
    answer = (_req, res) => void held.push(res);
    const controller = new AbortController();
    const pending = client.propose(proposal, { signal: controller.signal }).catch((e) => e);
    await until(() => seen.length === 1);
    controller.abort();
    const aborted = await pending;
    expect(aborted).toBeInstanceOf(AbortedError);
    expect(aborted).toBeInstanceOf(CountersignError);
    expect(aborted).toMatchObject({ status: 499, httpStatus: undefined, idempotencyKey: seen[0].headers['idempotency-key'], cause: { name: 'AbortError' } });
    expect(aborted.cause).toBe(controller.signal.reason); // the caller's reason, not marked (it may be shared)
    expect(controller.signal.reason.idempotencyKey).toBeUndefined();

    answer = (_req, res) => json(res, 503, { message: 'away' });
    const slow = new CountersignClient({ baseUrl: client['baseUrl'], token: 't', backoffMs: 60_000, maxBackoffMs: 60_000 });
    const second = new AbortController();
    const retrying = slow.propose(proposal, { signal: second.signal, idempotencyKey: 'k-abort' }).catch((e) => e);
    await until(() => seen.length === 2);
    second.abort();
    expect(await retrying).toMatchObject({ name: 'AbortedError', idempotencyKey: 'k-abort', cause: { name: 'AbortError' } });
    expect(seen).toHaveLength(2);
    for (const res of held) res.destroy();
  });

  it('an AbortSignal.timeout on propose rejects with the generated key, and a resend under it is the same request (red team, 2026-12-06)', async () => {
    const held: ServerResponse[] = [];
    answer = (_req, res) => void held.push(res); // the proposal arrived; its answer does not come in time
    const error = await client.propose(proposal, { signal: AbortSignal.timeout(200) }).catch((e) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect(error.cause).toMatchObject({ name: 'TimeoutError' });
    expect(error.idempotencyKey).toMatch(/^cs-[0-9a-f-]{36}$/);
    expect(error.idempotencyKey).toBe(seen[0].headers['idempotency-key']);
    expect(error.message).toMatch(/^POST \/v1\/proposals was stopped by its signal \(TimeoutError: .*\): a try may have reached the server; propose again/);
    for (const res of held) res.destroy();
    answer = (_req, res) => json(res, 200, { actionId: 'a-1', status: 'in_review' });
    await expect(client.propose(proposal, { idempotencyKey: error.idempotencyKey })).resolves.toMatchObject({ actionId: 'a-1' });
    expect(seen[1].headers['idempotency-key']).toBe(error.idempotencyKey);
  });

  it.each([
    ['a status it does not know', { actionId: 'a1', status: 'queued' }, 'a1'],
    ['an empty object', {}, undefined],
    ['an action id that is a path', { actionId: '../../admin', status: 'proposed' }, undefined],
  ])('a success it does not know (%s) is an UnexpectedAnswerError with the key, and the action id if a plain one', async (_what, body, actionId) => {
    answer = (_req, res) => json(res, 202, body, { 'X-Correlation-Id': 'corr-202' });
    const error = await client.propose(proposal).catch((e) => e);
    expect(error).toBeInstanceOf(UnexpectedAnswerError);
    expect(error).toMatchObject({ httpStatus: 202, correlationId: 'corr-202', idempotencyKey: seen[0].headers['idempotency-key'] });
    expect(error.actionId).toBe(actionId);
    expect(error.message).toMatch(/^POST \/v1\/proposals answered 202 .*may have been accepted/);
    expect(seen).toHaveLength(1);
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

  it('names the action and a correlation id on an error of status and awaitDecision, a timeout included (first-user pass, 2026-12-07)', async () => {
    answer = (_req, res) => json(res, 404, { message: 'Cannot GET /api/v1/actions/a-3' }, { 'X-Correlation-Id': 'srv-1' });
    expect(JSON.parse(JSON.stringify(await client.status('a-3').catch((e: unknown) => e)))).toMatchObject({
      name: 'NotFoundError',
      actionId: 'a-3',
      correlationId: 'srv-1',
    });
    answer = (_req, res) => json(res, 200, { actionId: 'a-4', status: 'in_review', lane: 'review', timeline: [] });
    seen = [];
    const timeout = await client.awaitDecision('a-4', { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(timeout).toBeInstanceOf(DecisionTimeoutError);
    const shown = JSON.parse(JSON.stringify(timeout));
    expect(shown).toMatchObject({ name: 'DecisionTimeoutError', status: 408, actionId: 'a-4', lastStatus: 'in_review' });
    // The correlation id every poll of the wait sent.
    expect(shown.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(seen.map((r) => r.headers['x-correlation-id']))).toEqual(new Set([shown.correlationId]));
  });

  it('never shows its token: not in JSON, not when inspected (first-user pass, 2026-12-07)', () => {
    const secret = 'cs_agent_s3cr3t_token_value';
    const c = new CountersignClient({ baseUrl: 'http://127.0.0.1:1', token: secret });
    expect(JSON.stringify(c)).toBe('{"baseUrl":"http://127.0.0.1:1"}');
    expect(inspect(c, { showHidden: true, depth: 5 })).not.toContain(secret);
    expect(inspect({ client: c })).not.toContain(secret);
    expect(JSON.stringify({ client: c })).not.toContain(secret);
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

  it('awaitDecision keeps a wait longer than a Node timer holds (25 days) instead of ending it at once', async () => {
    const views = ['in_review', 'in_review', 'autonomous'];
    answer = (_req, res) => json(res, 200, { actionId: 'a-25', status: views.shift(), lane: 'autonomous', timeline: [] });
    await expect(client.awaitDecision('a-25', { timeoutMs: 25 * 24 * 3600_000 })).resolves.toMatchObject({ status: 'autonomous' });
    expect(seen).toHaveLength(3);
    expect(seen.map((s) => new URL(s.url, 'http://x').searchParams.get('timeoutMs'))).toEqual(['30000', '30000', '30000']);
  });

  it('awaitDecision waits through a 500 and a 429 whose Retry-After is past maxBackoffMs, honouring it, until the action is decided', async () => {
    const times: number[] = [];
    const answers = [
      (res: ServerResponse) => json(res, 500, { statusCode: 500, message: 'Internal server error' }),
      (res: ServerResponse) => json(res, 429, { message: 'over its rate' }, { 'Retry-After': '1' }),
      (res: ServerResponse) => json(res, 200, { actionId: 'a-11', status: 'executed', lane: 'autonomous', timeline: [] }),
    ];
    answer = (_req, res) => (times.push(Date.now()), answers.shift()!(res));
    await expect(client.awaitDecision('a-11', { timeoutMs: 60_000, waitFor: 'final' })).resolves.toMatchObject({ status: 'executed' });
    expect(seen).toHaveLength(3);
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(990); // not before the server said, though maxBackoffMs is 20
  });

  it('awaitDecision whose deadline comes before a 429’s Retry-After ends at the deadline, without polling sooner than asked', async () => {
    answer = (_req, res) => json(res, 429, { message: 'over its rate' }, { 'Retry-After': '30' });
    const started = Date.now();
    const error = await client.awaitDecision('a-12', { timeoutMs: 300 }).catch((e) => e);
    expect(error).toBeInstanceOf(DecisionTimeoutError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(seen).toHaveLength(1);
    // A definite answer still ends the wait at once: a 403.
    answer = (_req, res) => json(res, 403, { message: 'principal a may not read action a-12' });
    await expect(client.awaitDecision('a-12', { timeoutMs: 60_000 })).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('reads at most maxAnswerBytes of an answer (4 MiB by default), stops there, and does not retry it', async () => {
    let written = 0;
    answer = (_req, res) => {
      // A hostile server: an endless body, written as fast as the client takes it.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && written < 256 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    };
    const error = await client.status('a-13').catch((e) => e);
    expect(error).toBeInstanceOf(AnswerTooLargeError);
    expect(error).toBeInstanceOf(UnexpectedAnswerError);
    expect(error).toMatchObject({ limitBytes: 4 * 1024 * 1024, httpStatus: 200 });
    expect(error.message).toBe(
      "GET /v1/actions/a-13 answered 200 with a body over 4194304 bytes (maxAnswerBytes): reading stopped there, and it is not retried; not Countersign's answer",
    );
    expect(seen).toHaveLength(1);
    await until(() => written > 0);
    expect(written).toBeLessThan(32 * 1024 * 1024); // the connection was let go, not read to its end

    // A declared length over the limit is refused before reading; a proposal's error carries its key as ever.
    seen = [];
    answer = (_req, res) => (res.writeHead(503, { 'Content-Length': String(2_000), 'Content-Type': 'text/plain' }), res.end('x'.repeat(2_000)));
    const small = new CountersignClient({ baseUrl: client['baseUrl'], token: 't', maxAnswerBytes: 1_000, backoffMs: 5, maxBackoffMs: 20 });
    const refused = await small.propose(proposal).catch((e) => e);
    expect(refused).toBeInstanceOf(AnswerTooLargeError);
    expect(refused).toMatchObject({ limitBytes: 1_000, idempotencyKey: seen[0].headers['idempotency-key'] });
    expect(seen).toHaveLength(1);
  });

  it('refuses a token a header cannot carry, at construction, without showing it; a trailing line break is dropped as fetch would', async () => {
    const base = { baseUrl: client['baseUrl'] as string };
    for (const [token, kind] of [
      ['SECRET\nTOKEN', /a control character .* at character 7 of 12/],
      ['\ufeffSECRETTOKEN', /a byte-order mark .* at character 1 of 12/],
      ['SECRET TOKEN', /a space at character 7/],
      ['SECRÉTTOKEN', /a character outside ASCII at character 5/],
    ] as const) {
      const error = (() => {
        try {
          new CountersignClient({ ...base, token });
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error).toBeInstanceOf(TypeError);
      expect(error!.message).toMatch(kind);
      expect(error!.message).not.toMatch(/SECR/);
    }
    expect(() => new CountersignClient({ ...base, token: '' })).toThrow('CountersignClient: token is empty');
    expect(() => new CountersignClient({ ...base, token: undefined as unknown as string })).toThrow('CountersignClient: token must be a string, not undefined');
    answer = (_req, res) => json(res, 200, { actionId: 'a-1', status: 'in_review', lane: 'review', timeline: [] });
    await new CountersignClient({ ...base, token: 'from-a-file\n' }).status('a-1');
    expect(seen[0].headers.authorization).toBe('Bearer from-a-file');
  });

  it('refuses an idempotency key the server would refuse before sending anything, and does not show it', async () => {
    for (const key of ['order 4111111111111111', 'k\r\nX-Injected: 1', '', 'x'.repeat(201)]) {
      const error = await client.propose(proposal, { idempotencyKey: key }).catch((e) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/^propose: idempotencyKey must be 1-200 characters .*nothing was sent$/);
      expect(error.message).not.toContain('4111');
      expect(error.message).not.toContain('Injected');
    }
    expect(seen).toHaveLength(0);
  });

  it('takes a request fetch refuses to make for a local mistake: not retried, and its text (which quotes the header) not shown', async () => {
    let calls = 0;
    const refusing: typeof fetch = async (_url, init) => {
      calls += 1;
      const auth = (init?.headers as Record<string, string>).Authorization;
      throw new TypeError(`Headers.append: "${auth}" is an invalid header value.`);
    };
    const local = new CountersignClient({ baseUrl: client['baseUrl'], token: 'SECRETTOKEN', fetch: refusing, backoffMs: 5, maxBackoffMs: 20 });
    const error = await local.status('a-1').catch((e) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(
      'GET /v1/actions/a-1 could not be sent: fetch refused the request itself (TypeError; its text is not shown, as it may quote a header)',
    );
    expect(calls).toBe(1);
    // A custom fetch's other failure is a lost connection, retried; its text is quoted, the token never.
    const echoing: typeof fetch = async (_url, init) => {
      calls += 1;
      throw new Error(`proxy said no to ${(init?.headers as Record<string, string>).Authorization}`);
    };
    const retried = await new CountersignClient({ baseUrl: client['baseUrl'], token: 'SECRETTOKEN', fetch: echoing, retries: 1, backoffMs: 5 })
      .status('a-1')
      .catch((e) => e);
    expect(retried).toBeInstanceOf(UnavailableError);
    expect(retried.message).toBe('no answer from GET /v1/actions/a-1: proxy said no to Bearer [token]');
    expect(calls).toBe(3);
    // Nor in what `console.log(err)` prints: the cause is the failure as told, not the failure (red team, 2026-12-07).
    expect(inspect(retried, { depth: 5 })).not.toContain('SECRETTOKEN');
    expect(retried.cause).toMatchObject({ name: 'Error', message: 'proxy said no to Bearer [token]' });
    // Nor when the failure's text runs past the length kept and the cut falls inside the token (red team, 2026-12-07).
    const token = 'tok_SECRET_0123456789abcdefghijklmnopqrstuvwxy';
    const long: typeof fetch = async (_url, init) => {
      throw new Error(`${'x'.repeat(270)} ${(init?.headers as Record<string, string>).Authorization}`);
    };
    const cut = await new CountersignClient({ baseUrl: client['baseUrl'], token, fetch: long, retries: 0 }).status('a-1').catch((e) => e);
    expect(cut).toBeInstanceOf(UnavailableError);
    for (const shown of [cut.message, cut.cause.message, inspect(cut, { depth: 5 })]) expect(shown).not.toContain('tok_SECRET_0123');
  });

  it('refuses a base URL with credentials in it, or a DNS name that only starts with 127., without echoing the credentials', () => {
    const error = (() => {
      try {
        new CountersignClient({ baseUrl: 'https://agent:hunter2@countersign.internal', token: 't' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(/^CountersignClient: baseUrl has a user name or password in it \(not shown\)/);
    expect(error?.message).not.toMatch(/hunter2|agent/);
    expect(() => new CountersignClient({ baseUrl: 'http://agent:hunter2@[bad', token: 't' })).toThrow(
      /^CountersignClient: baseUrl is not a URL \(it is not shown/,
    );
    for (const baseUrl of ['http://127.attacker.example:8080', 'http://127.0.0.1.nip.io', 'http://localhost.:8080'])
      expect(() => new CountersignClient({ baseUrl, token: 't' })).toThrow(/would send the token in clear|is not a URL/);
    for (const baseUrl of ['http://127.1:8080', 'http://127.5.6.7', 'http://0x7f.0.0.1:8080', 'http://LOCALHOST:8080'])
      expect(() => new CountersignClient({ baseUrl, token: 't' })).not.toThrow();
  });

  it('puts the server’s X-Correlation-Id on its errors, and gives them a JSON form with the message and ids but no view', async () => {
    answer = (_req, res) => json(res, 400, { statusCode: 400, message: 'parameters.amount: expected number' }, { 'X-Correlation-Id': 'c-77' });
    const error = await client.propose(proposal, { idempotencyKey: 'k-json' }).catch((e) => e);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'BadRequestError',
      message: 'parameters.amount: expected number',
      status: 400,
      httpStatus: 400,
      idempotencyKey: 'k-json',
      correlationId: 'c-77',
    });
    // A correlation id that is not the platform's shape is not kept: the one the client sent stands.
    answer = (_req, res) => json(res, 403, { message: 'no' }, { 'X-Correlation-Id': 'a b <script>' });
    expect(await client.status('a-1').catch((e) => e)).toMatchObject({ correlationId: seen.at(-1)!.headers['x-correlation-id'], httpStatus: 403 });

    // The client's own timeout and a server's 408 share a status, not a class nor httpStatus; the view stays out of JSON.
    const timeline = [{ eventId: 'e1', type: 't', time: 'now', status: 'in_review', actor: 'x', detail: 'a reviewer’s long note' }];
    answer = (_req, res) => json(res, 200, { actionId: 'a-14', status: 'in_review', lane: 'review', timeline });
    const ownTimeout = await client.awaitDecision('a-14', { timeoutMs: 50 }).catch((e) => e);
    expect(ownTimeout).toMatchObject({ status: 408, httpStatus: undefined });
    expect(JSON.parse(JSON.stringify(ownTimeout))).toEqual({
      name: 'DecisionTimeoutError',
      message: 'action a-14 not decided within 50 ms',
      status: 408,
      actionId: 'a-14',
      correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      lastStatus: 'in_review',
    });
    seen = [];
    answer = (_req, res) => json(res, 408, { message: 'Request Timeout' });
    const serverTimeout = await client.status('a-14').catch((e) => e);
    expect(serverTimeout).not.toBeInstanceOf(DecisionTimeoutError);
    expect(serverTimeout).toMatchObject({ status: 408, httpStatus: 408 });
    expect(seen).toHaveLength(1);
    // RateLimitedError says when in its JSON too.
    answer = (_req, res) => json(res, 429, { message: 'too many' }, { 'Retry-After': '9' });
    expect(JSON.parse(JSON.stringify(await client.status('a-14').catch((e) => e)))).toMatchObject({ name: 'RateLimitedError', retryAfterSeconds: 9 });
  });

  it('spreads a 503’s Retry-After when it is the longer wait, as a 429’s, within maxBackoffMs', async () => {
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.99);
    try {
      const times: number[] = [];
      let n = 0;
      answer = (_req, res) => {
        times.push(Date.now());
        if (++n === 1) return json(res, 503, { message: 'away' }, { 'Retry-After': '1' });
        json(res, 202, { actionId: 'a-15', status: 'proposed' });
      };
      const patient = new CountersignClient({ baseUrl: client['baseUrl'], token: 't', backoffMs: 5, maxBackoffMs: 5_000 });
      await expect(patient.propose(proposal)).resolves.toMatchObject({ actionId: 'a-15' });
      expect(times[1] - times[0]).toBeGreaterThanOrEqual(1_200); // 1 s and up to a quarter more, not 1 s for every caller
    } finally {
      random.mockRestore();
    }
  });

  it('describes an error body that is not JSON (status, type, length) and never quotes it: a proxy may echo the request', async () => {
    answer = (req, res) => (res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }), res.end(`could not handle ${req.body}`));
    const card = { ...proposal, parameters: { ...proposal.parameters, reason: 'card 4111 1111 1111 1111' } };
    const error = await client.propose(card).catch((e) => e);
    expect(error).toBeInstanceOf(CountersignError);
    expect(error.message).toBe(
      `HTTP 500, with a text/plain body of ${Buffer.byteLength(`could not handle ${seen[0].body}`)} bytes that is not Countersign's JSON (not shown: it may echo the request)`,
    );
    expect(error.message).not.toContain('4111');
    expect(seen).toHaveLength(1);
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

// real: CountersignClient, Node's fetch and fetchTrusting, TLS handshakes on 127.0.0.1 with this PKI's certificates;
// fake: the server's answer (there is none: the handshake fails).
describe('CountersignClient over HTTPS', () => {
  const HOUR = 3600_000;
  let server: HttpsServer;
  let baseUrl: string;
  let connections = 0;
  let otherRootPem: string;

  beforeAll(async () => {
    const root = await createRootCa('client-root', { notAfter: new Date(Date.now() + 2 * HOUR) });
    const leaf = await issueCertificate(root, 'orchestrator', 'server', { notAfter: new Date(Date.now() + HOUR) });
    otherRootPem = (await createRootCa('other-root', { notAfter: new Date(Date.now() + HOUR) })).certPem;
    server = createHttpsServer({ cert: leaf.chainPem, key: leaf.keyPem }, (_req, res) => res.end('{}'));
    server.on('connection', () => (connections += 1));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));

  it.each([
    ['trusting another root (tls)', () => ({ tls: { ca: otherRootPem } })],
    ["trusting the system's roots (Node's fetch)", () => ({})],
  ])('a refused certificate, %s, is a CertificateError naming the TLS code, tried once, not a lost connection', async (_what, trust) => {
    connections = 0;
    const client = new CountersignClient({ baseUrl, token: 'SECRETTOKEN', backoffMs: 5, maxBackoffMs: 20, ...trust() });
    const error = await client.propose({} as ProposalInput, { idempotencyKey: 'k-tls' }).catch((e) => e);
    expect(error).toBeInstanceOf(CertificateError);
    expect(error).toBeInstanceOf(UnavailableError); // as before this class, for code that caught "no connection"
    expect(error.message).toMatch(
      /^POST \/v1\/proposals: the server's certificate was refused \(fetch failed.*\((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY): /,
    );
    expect(error.message).not.toContain('SECRETTOKEN');
    expect(error).toMatchObject({ idempotencyKey: 'k-tls', httpStatus: undefined });
    expect(connections).toBe(1);
    // awaitDecision does not wait through it: a restart will not change the certificate.
    await expect(client.awaitDecision('a-1', { timeoutMs: 60_000 })).rejects.toBeInstanceOf(CertificateError);
  });
});

/** Waits for a condition the test's own server sets (no fixed sleeps). */
async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition();) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
