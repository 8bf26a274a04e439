import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { dlqTopic, newId, signSubmission, SubmittedProposal, TOPICS } from '@countersign/contracts';
import { call, eventually } from '@countersign/testing';
import { startEmbedded } from './embedded';

// real: all five services in one process (the in-process bus and stores, the local audit file), the strict
// parser, tokens with agent ids and signing keys, the project's contract with its parameter schemas;
// fake: the target system (the embedded sink).
describe('strict ingress (embedded mode)', () => {
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  const token = (name: string) => readFileSync(join(running.home, 'tokens', name), 'utf8');
  const example = (f: string) => JSON.parse(readFileSync(join(__dirname, '../examples', f), 'utf8'));
  const audit = () =>
    (existsSync(join(running.home, 'audit', 'audit.jsonl')) ? readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8') : '')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l).entry as {
            eventType: string;
            correlationId: string;
            actionId: string;
            actor: { id: string; authMethod?: string };
            data: Record<string, unknown>;
          },
      );

  /** POSTs raw bytes as a proposal, with a correlation id to find the audit entry by. */
  const post = async (body: string | Buffer, tokenName = 'agent', headers: Record<string, string> = {}) => {
    const correlationId = `ingress-${newId()}`;
    const res = await fetch(`${running.url}/v1/proposals`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token(tokenName)}`, 'X-Correlation-Id': correlationId, ...headers },
      body,
    });
    return { status: res.status, body: (await res.json()) as { message: string; actionId?: string }, correlationId, headers: res.headers };
  };
  /**
   * The refusal is on the record: a `security.request.rejected.v1` audit entry with its status and reason. Up to 30 s:
   * the first one waited for comes right after the start, behind the start's own events, and on a loaded CI machine
   * (a clean clone, 2026-12-03) 10 s was once not enough; it is found in well under a second otherwise.
   */
  const audited = (correlationId: string, status: number, reason: string) =>
    eventually(() => {
      const entry = audit().find((e) => e.correlationId === correlationId && e.eventType === TOPICS.requestRejected);
      expect(entry?.data).toMatchObject({ status, reason });
    }, 30_000);
  const proposedCount = () => audit().filter((e) => e.eventType === TOPICS.actionProposed).length;

  beforeAll(async () => {
    running = await startEmbedded({ home: mkdtempSync(join(tmpdir(), 'countersign-ingress-')), port: 0, logger: pino({ level: 'silent' }) });
  }, 60_000); // a first start makes the home's database
  afterAll(() => running.close());

  it('refuses a body with a duplicate key (400) instead of running the last one: a legal statement is not a refund', async () => {
    const refund = JSON.stringify(example('refund-small.json'));
    const res = await post(refund.replace('{', '{"actionType":"legal.statement",'));
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('malformed JSON body: duplicate key "actionType" in the object at /');
    await audited(res.correlationId, 400, res.body.message);
  });

  it('refuses a field a proposal does not have (400, audited) instead of dropping it: a misspelt context ran a commitment on its own', async () => {
    const before = proposedCount();
    const reply = example('reply.json');
    // Red team (2026-12-04): `Context` was dropped without a word, and with it the flag that sends the reply to review.
    const misspelt = await post(JSON.stringify({ ...reply, target: `ticket-${newId().slice(0, 8)}`, Context: { containsCommitment: true } }));
    expect(misspelt.status).toBe(400);
    expect(misspelt.body.message).toBe('Context: unknown field (did you mean context?)');
    await audited(misspelt.correlationId, 400, misspelt.body.message);
    // A field that claims an authority is no different: refused, and on the record with the rest.
    const claims = await post(JSON.stringify({ ...reply, target: `ticket-${newId().slice(0, 8)}`, lane: 'autonomous', approvedBy: 'alice' }));
    expect(claims.status).toBe(400);
    expect(claims.body.message).toBe('lane: unknown field; approvedBy: unknown field');
    await audited(claims.correlationId, 400, claims.body.message);
    expect(proposedCount()).toBe(before);
  });

  it('refuses deep nesting with 400 (413 past the size limit), never 500 or an action stuck in proposed', async () => {
    const before = proposedCount();
    for (const levels of [40, 2_500, 6_000]) {
      const body = JSON.stringify({ ...example('refund-small.json'), context: { x: 0 } }).replace('"x":0', `"x":${'['.repeat(levels)}${']'.repeat(levels)}`);
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/^malformed JSON body: nested deeper than 32 levels at \/context\/x\/0\/0\//);
      await audited(res.correlationId, 400, res.body.message);
    }
    const shallowButTooDeepForAProposal = post(
      JSON.stringify({ ...example('refund-small.json'), context: { x: JSON.parse(`${'['.repeat(20)}${']'.repeat(20)}`) } }),
    );
    const res = await shallowButTooDeepForAProposal;
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/^context\.x(\.0)+: nested deeper than 16 levels$/);
    const huge = await post('['.repeat(100_000) + ']'.repeat(100_000));
    expect(huge.status).toBe(413);
    await audited(huge.correlationId, 413, huge.body.message);
    expect(proposedCount()).toBe(before);
  });

  it('refuses (413) a proposal that grows past its limit once written out (1e20 → 100000000000000000000), instead of 5xx or stuck', async () => {
    const before = proposedCount();
    // 20 KB as sent, 88 KB as the events would carry it: accepted, it could not have travelled on (red team, round 10).
    const body = JSON.stringify({ ...example('refund-small.json'), context: { x: 0 } }).replace('"x":0', `"x":[${Array(4_000).fill('1e20').join(',')}]`);
    expect(body.length).toBeLessThan(64 * 1024);
    const res = await post(body);
    expect(res.status).toBe(413);
    expect(res.body.message).toMatch(/^the proposal is \d+ bytes as JSON once written out \(numbers such as 1e20 in full\), over the 65536-byte limit/);
    await audited(res.correlationId, 413, res.body.message);
    expect(proposedCount()).toBe(before);
  });

  it('refuses invalid UTF-8 (400) instead of running an altered target', async () => {
    // "order-77é" in Latin-1: read leniently, the target became "order-77\ufffd" and the refund ran on it.
    const body = Buffer.from(JSON.stringify({ ...example('refund-small.json'), target: 'order-77\u00e9' }), 'latin1');
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/^malformed JSON body: invalid UTF-8 at byte \d+$/);
    await audited(res.correlationId, 400, res.body.message);
    expect(running.sink.effects.some((e) => JSON.stringify(e).includes('order-77\ufffd'))).toBe(false);
  });

  it.each([
    ['latin1', 'application/json; charset=latin1'],
    ['utf-16', 'application/json; charset=utf-16'],
  ])('refuses a body labelled %s (415, audited) instead of reading it as UTF-8', async (charset, type) => {
    const before = proposedCount();
    const res = await post(JSON.stringify({ ...example('refund-small.json'), target: `order-${newId().slice(0, 8)}` }), 'agent', { 'Content-Type': type });
    expect(res.status).toBe(415);
    expect(res.body.message).toBe(`request body must be UTF-8 JSON: charset "${charset}" is not supported (send charset=utf-8, or no charset)`);
    await audited(res.correlationId, 415, res.body.message);
    const utf8 = JSON.stringify({ ...example('refund-small.json'), target: `order-${newId().slice(0, 8)}` });
    expect((await post(utf8, 'agent', { 'Content-Type': 'application/json; charset=UTF-8' })).status).toBe(202);
    await eventually(() => expect(proposedCount()).toBe(before + 1), 10_000);
  });

  it.each(['deflate', 'gzip', 'br'])('refuses Content-Encoding: %s alike (415 with Accept-Encoding: identity, audited)', async (coding) => {
    // A plain body: deflate used to be ignored and the body read as is, while gzip failed as invalid UTF-8.
    const res = await post(JSON.stringify(example('refund-small.json')), 'agent', { 'Content-Encoding': coding });
    expect(res.status).toBe(415);
    expect(res.body.message).toBe(`request body must not be compressed: Content-Encoding "${coding}" is not supported (send the JSON as is)`);
    expect(res.headers.get('accept-encoding')).toBe('identity');
    await audited(res.correlationId, 415, res.body.message);
  });

  it('refuses a __proto__ key in the parameters (400 naming it, audited) instead of dropping it and running the rest', async () => {
    const before = proposedCount();
    const reply = JSON.stringify({ ...example('reply.json'), parameters: { body: 'ok', PROTO: { x: 1 } } }).replace('"PROTO"', '"__proto__"');
    const res = await post(reply);
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('malformed JSON body: key "__proto__" is not allowed in the object at /parameters');
    await audited(res.correlationId, 400, res.body.message);
    expect(proposedCount()).toBe(before);
  });

  it.each([
    ['target', { target: 'order-77\u0007' }],
    ['tenant', { tenant: 'acme\u001b' }],
    ['proposer.agentId', { proposer: { ...example('refund-small.json').proposer, agentId: 'support-copilot\u200b' } }],
  ])('refuses a control character in %s (400)', async (field, change) => {
    const res = await post(JSON.stringify({ ...example('refund-small.json'), ...change }));
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(`${field}: must not contain control characters or invisible format characters`);
    await audited(res.correlationId, 400, res.body.message);
  });

  it.each([
    ['target', { target: ' ' }],
    ['target', { target: 'order-77 ' }],
    ['tenant', { tenant: '\u00a0acme' }],
    ['region', { region: 'eu-west\u3000' }],
    ['proposer.agentId', { proposer: { ...example('refund-small.json').proposer, agentId: ' support-copilot' } }],
  ])('refuses a blank %s, or one that begins or ends with white space (400, audited, nothing proposed)', async (field, change) => {
    const before = proposedCount();
    const res = await post(JSON.stringify({ ...example('refund-small.json'), ...change }));
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(`${field}: must not be blank, nor begin or end with white space`);
    await audited(res.correlationId, 400, res.body.message);
    expect(proposedCount()).toBe(before);
  });

  it('refuses NUL anywhere at the door, other control characters in free text (400), and keeps newlines and tabs', async () => {
    const reply = { ...example('refund-small.json'), actionType: 'support.reply', parameters: { body: 'Hello\u0000' } };
    const nul = await post(JSON.stringify(reply));
    expect(nul.status).toBe(400);
    expect(nul.body.message).toBe('malformed JSON body: the string at /parameters/body contains a NUL character (\\u0000), which Countersign does not store');
    await audited(nul.correlationId, 400, nul.body.message);
    const res = await post(JSON.stringify({ ...reply, parameters: { body: 'Hello\u0007' } }));
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(
      'parameters.body: must not contain control characters other than tab, line feed and carriage return, nor bidirectional embedding, override or isolate characters (U+202A–U+202E, U+2066–U+2069)',
    );
    const fine = await post(JSON.stringify({ ...reply, parameters: { body: 'Hello,\n\tyour parcel ships tomorrow.' } }));
    expect(fine.status).toBe(202);
  });

  it('refuses a proposer.agentId the token may not propose as (403), and the audit names the principal', async () => {
    const res = await post(
      JSON.stringify({ ...example('refund-small.json'), proposer: { ...example('refund-small.json').proposer, agentId: 'finance-agent' } }),
    );
    expect(res.status).toBe(403);
    expect(res.body.message).toBe('principal support-copilot may not propose as agent "finance-agent": it may propose as support-copilot');
    await audited(res.correlationId, 403, res.body.message);
    expect(audit().find((e) => e.correlationId === res.correlationId)?.actor.id).toBe('support-copilot');
  });

  it('refuses parameters that do not fit the action type (400 naming the pointer and the rule)', async () => {
    for (const amount of ['75', null, -5000, 0]) {
      const res = await post(JSON.stringify({ ...example('refund-small.json'), parameters: { ...example('refund-small.json').parameters, amount } }));
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/^invalid parameters for support\.refund: \/parameters\/amount \((type|exclusiveMinimum)\): /);
      await audited(res.correlationId, 400, res.body.message);
    }
    const { currency: _currency, ...noCurrency } = example('refund-small.json').parameters;
    const res = await post(JSON.stringify({ ...example('refund-small.json'), parameters: noCurrency }));
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('/parameters/currency (required)');
  });

  it('a review reason of three NULs does not approve (400): the action stays in review', async () => {
    const id = (await call('POST', `${running.url}/v1/proposals`, example('refund-large.json'), token('agent'))).body.actionId as string;
    await eventually(
      async () => expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe('in_review'),
      10_000,
    );
    const res = await call('POST', `${running.url}/v1/reviews/${id}/approve`, { reason: '\u0000\u0000\u0000' }, token('reviewer'));
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('malformed JSON body: the string at /reason contains a NUL character (\\u0000), which Countersign does not store');
    const bell = await call('POST', `${running.url}/v1/reviews/${id}/approve`, { reason: '\u0007\u0007\u0007' }, token('reviewer'));
    expect([bell.status, bell.body.message]).toEqual([400, 'reason: must not contain control characters other than tab, line feed and carriage return']);
    expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe('in_review');
  });

  it.each([
    ['three zero-width spaces', '\u200b\u200b\u200b', 'reason: must contain at least 3 letters or digits'],
    ['Hangul fillers', '\u3164\u3164\u3164\u3164', 'reason: must contain at least 3 letters or digits'],
    ['punctuation', '...', 'reason: must contain at least 3 letters or digits'],
    [
      'a bidi override',
      'checked \u202edenifer\u202c',
      'reason: must not contain bidirectional embedding, override or isolate characters (U+202A–U+202E, U+2066–U+2069)',
    ],
  ])('a review reason of %s does not approve (400): the action stays in review', async (_name, reason, message) => {
    const id = (await call('POST', `${running.url}/v1/proposals`, example('refund-large.json'), token('agent'))).body.actionId as string;
    await eventually(
      async () => expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe('in_review'),
      10_000,
    );
    for (const route of ['approve', 'reject']) {
      const res = await call('POST', `${running.url}/v1/reviews/${id}/${route}`, { reason }, token('reviewer'));
      expect(res).toMatchObject({ status: 400, body: { message } });
    }
    expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe('in_review');
  });

  it('refuses a review decision with a field the API does not have (400 naming it) instead of ignoring what the reviewer meant', async () => {
    const id = (await call('POST', `${running.url}/v1/proposals`, example('refund-large.json'), token('agent'))).body.actionId as string;
    await eventually(
      async () => expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe('in_review'),
      10_000,
    );
    // Changes go through approve-with-changes (`/revise`); parameters sent with a plain approval must not be dropped silently.
    const res = await call('POST', `${running.url}/v1/reviews/${id}/approve`, { reason: 'checked the order', parameters: { amount: 10 } }, token('reviewer'));
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/parameters/);
    expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe('in_review');
  });

  it('refuses an action id that no action can have (400 naming it, not echoed back) on the API and the review routes', async () => {
    const long = 'a'.repeat(5_000);
    const view = await call('GET', `${running.url}/v1/actions/${long}`, undefined, token('agent'));
    expect(view).toMatchObject({ status: 400, body: { message: 'id: at most 200 characters (got 5000)' } });
    const hidden = await call('POST', `${running.url}/v1/reviews/${encodeURIComponent('order-1\u202e')}/approve`, { reason: 'checked it' }, token('reviewer'));
    expect(hidden).toMatchObject({ status: 400, body: { message: 'actionId: must not contain control characters or invisible format characters' } });
    // The refusals are audited like every other one.
    await eventually(
      () => expect(audit().filter((e) => e.eventType === TOPICS.requestRejected && /actionId: must not|id: at most/.test(JSON.stringify(e)))).toHaveLength(2),
      10_000,
    );
  });

  it('answers a method a path does not serve with 405 and Allow (audited), and an unknown path with 404', async () => {
    const put = await call('PUT', `${running.url}/v1/proposals`, example('refund-small.json'), token('agent'));
    expect(put).toMatchObject({ status: 405, body: { error: 'Method Not Allowed', message: 'PUT is not allowed here (allowed: POST)' } });
    expect(put.headers.get('allow')).toBe('POST');
    const del = await call('DELETE', `${running.url}/v1/actions/some-action`, undefined, token('agent'));
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD');
    expect((await call('GET', `${running.url}/v1/nothing-here`, undefined, token('agent'))).status).toBe(404);
    await eventually(
      () => expect(audit().filter((e) => e.eventType === TOPICS.requestRejected && /is not allowed here/.test(JSON.stringify(e)))).toHaveLength(2),
      10_000,
    );
  });

  describe("credentials before the body, and the HTTP server's own refusals", () => {
    const unauthenticated = async (body: string | Buffer, headers: Record<string, string> = {}, path = '/v1/proposals') => {
      const res = await fetch(`${running.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
      return { status: res.status, body: (await res.json()) as { message: string } };
    };
    /** Sends bytes fetch would not send, and reads the answer until the server closes the connection. */
    const raw = (request: string) =>
      new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        const socket = connect(Number(new URL(running.url).port), '127.0.0.1', () => socket.write(request));
        let text = '';
        socket.on('data', (d) => (text += d.toString('latin1')));
        socket.on('error', reject);
        socket.on('close', () => resolve({ status: Number(text.split(' ')[1]), body: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) }));
      });
    /**
     * Sends a request's head with `Expect: 100-continue`, and its body only once the server answers `100 Continue`;
     * resolves with all the server wrote, when it closes the connection.
     */
    const expecting = (head: string, body: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(new URL(running.url).port), '127.0.0.1', () =>
          socket.write(`${head}Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`),
        );
        let text = '';
        socket.on('data', (d) => {
          text += d.toString('latin1');
          if (text === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write(body);
        });
        socket.on('error', reject);
        socket.on('close', () => resolve(text));
      });

    it('answers a proposal without a token 401 whatever its body: malformed JSON, text/plain, 100 KB (unread)', async () => {
      const missing = 'missing bearer token (Authorization: Bearer <token>)';
      expect(await unauthenticated('{"actionType":')).toEqual({ status: 401, body: expect.objectContaining({ message: missing }) });
      expect(await unauthenticated('refund order 77', { 'Content-Type': 'text/plain' })).toMatchObject({ status: 401 });
      expect(await unauthenticated('{"actionType":', { Authorization: 'Bearer not-a-token' })).toMatchObject({ status: 401 });
      // Over the limit: 401, not 413. The credentials come first whatever the body; the body is not read, and the
      // connection is closed after the answer unless all of it had already arrived (nothing is buffered either way).
      expect(await unauthenticated(Buffer.alloc(100 * 1024, '['))).toMatchObject({ status: 401, body: { message: missing } });
      // With a token, the body reader's precise answer, as before.
      const malformed = await post('{"actionType":');
      expect(malformed).toMatchObject({ status: 400, body: { message: 'malformed JSON body: unexpected end of input where a value should be' } });
      await audited(malformed.correlationId, 400, malformed.body.message);
    });

    it('answers an inbox decision without a session 401 whatever its body, not 400', async () => {
      expect(await unauthenticated('{"decision":', {}, '/reviews/some-action/decision')).toEqual({
        status: 401,
        body: expect.objectContaining({ message: 'not signed in (or the session ended): sign in at /auth/sign-in' }),
      });
    });

    it('tells a client that waits for 100 Continue to send its proposal only once its token is checked', async () => {
      // Node wrote 100 as the request arrived: a client without a token was told to send its body.
      const proposal = JSON.stringify({ ...example('refund-small.json'), target: `order-${newId().slice(0, 8)}` });
      const head = (auth: string) => `POST /v1/proposals HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n`;
      expect(await expecting(head(''), proposal)).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/);
      expect(await expecting(head(`Authorization: Bearer ${token('agent')}\r\n`), proposal)).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 202 /);
    });

    it('refuses a sign-in whose returnTo is longer than an inbox address (400, audited): each was kept ten minutes (red team, 2026-12-06)', async () => {
      const start = async (returnTo: string) => {
        const correlationId = `ingress-${newId()}`;
        const res = await fetch(`${running.url}/auth/sign-in?returnTo=${encodeURIComponent(returnTo)}`, {
          redirect: 'manual',
          headers: { 'X-Correlation-Id': correlationId },
        });
        return { status: res.status, text: await res.text(), correlationId };
      };
      const long = await start(`/reviews?a=${'x'.repeat(510)}`);
      expect(long.status).toBe(400);
      expect(JSON.parse(long.text).message).toBe('returnTo: at most 512 characters (an address of the inbox to come back to)');
      await audited(long.correlationId, 400, 'returnTo: at most 512 characters (an address of the inbox to come back to)');
      expect((await start(`/reviews?a=${'x'.repeat(500)}`)).status).toBe(303);
    });

    it('answers POST /auth/sign-out without reading a body: a malformed one is not looked at, a slow one not waited for', async () => {
      const signOut = (length: number, extra = '') =>
        `POST /auth/sign-out HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;
      // Read before, as any body: a 400.
      expect(await raw(`${signOut(1, 'Connection: close\r\n')}{`)).toEqual({ status: 200, body: { signedOut: true, next: '/auth/signed-out' } });
      // 10 of 1,000 bytes, then nothing: answered, and the connection closed rather than kept for the rest (red team,
      // 2026-12-04: a slow body held this public route for up to the request timeout, 300 s).
      expect(await raw(`${signOut(1000)}${' '.repeat(10)}`)).toEqual({ status: 200, body: { signedOut: true, next: '/auth/signed-out' } });
    });

    it('answers headers over the limit 431 and a bad Transfer-Encoding 400, as JSON (Node answered with an empty body)', async () => {
      const big = await fetch(`${running.url}/healthz`, { headers: { 'X-Padding': 'x'.repeat(20 * 1024) } });
      expect(big.status).toBe(431);
      expect(await big.json()).toEqual({
        statusCode: 431,
        error: 'Request Header Fields Too Large',
        message: 'the request line and headers are over the 16384-byte limit',
      });
      const te = await raw('POST /v1/proposals HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n');
      expect(te).toEqual({
        status: 400,
        body: { statusCode: 400, error: 'Bad Request', message: 'malformed body framing: Invalid `Transfer-Encoding` header value' },
      });
      await eventually(() => expect(audit().some((e) => e.eventType === TOPICS.requestRejected && e.data.status === 431)).toBe(true), 30_000);
    });
  });

  describe('proposals produced straight to the proposals topic', () => {
    const tokensJson = () =>
      JSON.parse(readFileSync(join(running.home, 'tokens.json'), 'utf8')) as Array<{ principal: string; signingKeys?: Array<{ keyId: string }> }>;
    const agentKey = () => ({
      keyId: tokensJson().find((e) => e.principal === 'support-copilot')!.signingKeys![0].keyId,
      privateKey: createPrivateKey(readFileSync(join(running.home, 'tokens', 'agent.signing.pem'), 'utf8')),
    });
    const submission = (overrides: Partial<SubmittedProposal> = {}): SubmittedProposal => {
      const id = newId();
      return {
        id: newId(),
        type: TOPICS.proposalSubmitted,
        version: 1,
        source: 'support-copilot',
        time: new Date().toISOString(),
        subject: id,
        correlationId: `kafka-${id}`,
        causationId: null,
        actor: { id: 'support-copilot', kind: 'agent' },
        data: { ...example('refund-small.json'), target: `order-${id.slice(0, 8)}` },
        ...overrides,
      };
    };
    /** The dead letter of a submission, as the audit recorded it. */
    const deadLettered = (e: SubmittedProposal) =>
      eventually(() => {
        const entry = audit().find((a) => a.eventType === dlqTopic(TOPICS.proposalSubmitted) && a.correlationId === e.correlationId);
        expect(entry).toBeDefined();
        return entry!.data as { reason: string; consumerGroup: string };
      }, 10_000);
    const noAction = async (e: SubmittedProposal) => {
      expect((await call('GET', `${running.url}/v1/actions/${e.subject}`, undefined, token('agent'))).status).toBe(404);
      expect(audit().some((a) => a.eventType === TOPICS.actionProposed && a.actionId === e.subject)).toBe(false);
    };

    it('dead-letters an unsigned submission with the reason (audited) and proposes nothing', async () => {
      const e = submission();
      await running.bus.publish(TOPICS.proposalSubmitted, e);
      expect(await deadLettered(e)).toMatchObject({
        consumerGroup: 'orchestrator.ingest',
        reason: expect.stringMatching(/^unauthenticated proposer: the submission is not signed/),
      });
      await noAction(e);
    });

    it('dead-letters a submission signed by an unknown key, or whose signature does not cover what it says', async () => {
      const stranger = generateKeyPairSync('ed25519').privateKey;
      const unknown = signSubmission(submission(), 'stranger-key', stranger);
      const signed = signSubmission(submission(), agentKey().keyId, agentKey().privateKey);
      const tampered = { ...signed, data: { ...signed.data, parameters: { ...signed.data.parameters, amount: 45 } } };
      const impostor = signSubmission(submission({ actor: { id: 'finance-agent', kind: 'agent' } }), agentKey().keyId, agentKey().privateKey);
      for (const e of [unknown, tampered, impostor]) await running.bus.publish(TOPICS.proposalSubmitted, e);
      expect((await deadLettered(unknown)).reason).toBe('unauthenticated proposer: unknown signing key "stranger-key"');
      expect((await deadLettered(tampered)).reason).toBe(`unauthenticated proposer: the signature by key ${agentKey().keyId} does not verify`);
      expect((await deadLettered(impostor)).reason).toBe(
        `unauthenticated proposer: actor "finance-agent" is not "support-copilot", who holds key ${agentKey().keyId}`,
      );
      for (const e of [unknown, tampered, impostor]) await noAction(e);
    });

    it('dead-letters a signed submission for an agent id its principal may not propose as, or with invalid parameters', async () => {
      const { keyId, privateKey } = agentKey();
      const other = signSubmission(
        submission({ data: { ...submission().data, proposer: { ...example('refund-small.json').proposer, agentId: 'finance-agent' } } }),
        keyId,
        privateKey,
      );
      const invalid = signSubmission(
        submission({ data: { ...submission().data, parameters: { amount: '75', currency: 'EUR', reason: 'late' } } }),
        keyId,
        privateKey,
      );
      for (const e of [other, invalid]) await running.bus.publish(TOPICS.proposalSubmitted, e);
      expect((await deadLettered(other)).reason).toBe('principal support-copilot may not propose as agent "finance-agent": it may propose as support-copilot');
      expect((await deadLettered(invalid)).reason).toMatch(/^invalid parameters for support\.refund: \/parameters\/amount \(type\): /);
      for (const e of [other, invalid]) await noAction(e);
    });

    it('runs a submission signed by its agent, as the authenticated principal', async () => {
      const e = signSubmission(submission(), agentKey().keyId, agentKey().privateKey);
      await running.bus.publish(TOPICS.proposalSubmitted, e);
      await eventually(
        async () => expect((await call('GET', `${running.url}/v1/actions/${e.subject}`, undefined, token('agent'))).body.status).toBe('executed'),
        10_000,
      );
      const proposed = audit().find((a) => a.eventType === TOPICS.actionProposed && a.actionId === e.subject)!;
      expect(proposed.actor).toMatchObject({ id: 'support-copilot', authMethod: 'signature' });
    });
  });
});
