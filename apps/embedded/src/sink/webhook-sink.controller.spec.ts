import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { newId, TOPICS } from '@countersign/contracts';
import { call, eventually } from '@countersign/testing';
import { startEmbedded } from '../embedded';

// real: the embedded mode (all services in one process, its PostgreSQL-backed sink store, the local audit file), the
// body reader; fake: nothing (the requests are what a caller of the stand-in target could send).
describe('the stand-in target (POST /_sink/effects) at its HTTP edge (red team, 2026-12-05)', () => {
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  const sink = () => readFileSync(join(running.home, 'tokens', 'sink'), 'utf8');
  const rejected = (correlationId: string) =>
    (existsSync(join(running.home, 'audit', 'audit.jsonl')) ? readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8') : '')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).entry as { eventType: string; correlationId: string; data: Record<string, unknown> })
      .filter((e) => e.correlationId === correlationId && e.eventType === TOPICS.requestRejected);
  const effects = async () => ((await call('GET', `${running.url}/_sink/effects`, undefined, sink())).body.effects as unknown[]).length;

  beforeAll(async () => {
    running = await startEmbedded({ home: mkdtempSync(join(tmpdir(), 'countersign-sink-')), port: 0, logger: pino({ level: 'silent' }) });
  }, 60_000); // a first start makes the home's database
  afterAll(() => running.close());

  it.each([
    [
      'a value',
      '{"parameters":{"note":"a\\u0000b"}}',
      'malformed JSON body: the string at /parameters/note contains a NUL character (\\u0000), which Countersign does not store',
    ],
    ['a key', '{"k\\u0000":1}', 'malformed JSON body: a key of the object at / contains a NUL character (\\u0000), which Countersign does not store'],
  ])('refuses a NUL character in %s with 400, audited, and stores nothing (it was a 500 from PostgreSQL, 22P05)', async (_n, body, message) => {
    const before = await effects();
    const correlationId = `sink-nul-${newId()}`;
    const res = await call('POST', `${running.url}/_sink/effects`, body, sink(), { 'Idempotency-Key': `k-${newId()}`, 'X-Correlation-Id': correlationId });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(message);
    await eventually(() => expect(rejected(correlationId).map((e) => e.data)).toMatchObject([{ status: 400, reason: message }]));
    expect(await effects()).toBe(before);
  });

  it.each([
    ['application/json', 'text/plain'],
    ['text/plain', 'application/json'],
  ])('refuses two Content-Type headers (%s, then %s) with 400, audited, and stores nothing (first won: 200 one way, 415 the other)', async (first, second) => {
    const before = await effects();
    const correlationId = `sink-types-${newId()}`;
    const body = '{"ok":true}';
    const { port } = new URL(running.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write(
          `POST /_sink/effects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${sink()}\r\nIdempotency-Key: k-${newId()}\r\nX-Correlation-Id: ${correlationId}\r\n` +
            `Content-Type: ${first}\r\nContent-Type: ${second}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        ),
      );
      let received = '';
      socket.on('data', (c: Buffer) => (received += c.toString('utf8')));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    const message = 'more than one Content-Type header: send one (application/json)';
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).message).toBe(message);
    await eventually(() => expect(rejected(correlationId).map((e) => e.data)).toMatchObject([{ status: 400, reason: message }]));
    expect(await effects()).toBe(before);
  });

  it('still takes an effect with an escaped backslash before u0000 (text, not a NUL)', async () => {
    const before = await effects();
    const res = await call('POST', `${running.url}/_sink/effects`, '{"note":"C:\\\\u0000"}', sink(), { 'Idempotency-Key': `k-${newId()}` });
    expect(res.status).toBe(200);
    expect(await effects()).toBe(before + 1);
  });
});
