import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { CountersignClient } from '@countersign/client';
import { call } from '@countersign/testing';
import { startEmbedded } from '../../apps/embedded/src/embedded';
import { main } from './agent';

// real: the example agent and the SDK over HTTP, all five services in one process (the embedded mode, its
// in-process bus and stores), the project's contract; fake: the target system (the embedded sink).
describe('the example agent (examples/agent) against the embedded mode', () => {
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  const token = (name: string) => readFileSync(join(running.home, 'tokens', name), 'utf8');

  beforeAll(async () => {
    running = await startEmbedded({ home: mkdtempSync(join(tmpdir(), 'countersign-agent-')), port: 0, logger: pino({ level: 'silent' }) });
  }, 60_000); // a first start makes the home's database
  afterAll(() => running.close());

  it('gets the small refund executed, leaves the large one in review, and sees it decided once a reviewer approves', async () => {
    const lines: string[] = [];
    const run = await main({ baseUrl: running.url, token: token('agent'), reviewWaitMs: 1_000, log: (l) => lines.push(l) });

    expect(run.small).toMatchObject({ status: 'executed', lane: 'autonomous' });
    expect(running.sink.effects.filter((e) => e.actionId === run.small.actionId)).toHaveLength(1);
    expect(run.large).toMatchObject({ decided: false, view: { status: 'in_review', lane: 'review' } });
    expect(running.sink.effects.filter((e) => e.actionId === run.large.actionId)).toHaveLength(0);
    expect(lines.at(-1)).toBe(`${run.large.actionId}: in_review, waiting for a human reviewer`);

    // The agent waits again; a reviewer approves through the JSON API meanwhile, and the long poll answers.
    const client = new CountersignClient({ baseUrl: running.url, token: token('agent') });
    const decided = client.awaitDecision(run.large.actionId, { timeoutMs: 60_000, waitFor: 'final' });
    const approve = await call('POST', `${running.url}/v1/reviews/${run.large.actionId}/approve`, { reason: 'damage confirmed by photo' }, token('reviewer'));
    expect(approve.status).toBe(200);
    await expect(decided).resolves.toMatchObject({ status: 'executed', lane: 'review' });
    expect(running.sink.effects.filter((e) => e.actionId === run.large.actionId)).toHaveLength(1);
  });

  it('run again on the same orders (a rerun after a crash), it proposes nothing twice: the keys come from the work, not the time', async () => {
    const first = await main({
      baseUrl: running.url,
      token: token('agent'),
      reviewWaitMs: 200,
      orders: { small: 'order-2001', large: 'order-2002' },
      log: () => undefined,
    });
    const again = await main({
      baseUrl: running.url,
      token: token('agent'),
      reviewWaitMs: 200,
      orders: { small: 'order-2001', large: 'order-2002' },
      log: () => undefined,
    });
    expect([again.small.actionId, again.large.actionId]).toEqual([first.small.actionId, first.large.actionId]);
    expect(running.sink.effects.filter((e) => e.actionId === first.small.actionId)).toHaveLength(1);
  });

  it('says a refused proposal took nothing (first-user probe, 2026-12-07: a 401 said "it may have arrived")', async () => {
    const lines: string[] = [];
    const run = main({ baseUrl: running.url, token: 'not-a-known-token', orders: { small: 'order-3001', large: 'order-3002' }, log: (l) => lines.push(l) });
    await expect(run).rejects.toMatchObject({ name: 'UnauthorizedError', status: 401, idempotencyKey: 'support-copilot:refund:order-3001' });
    expect(lines).toEqual([expect.stringMatching(/^could not propose the refund of order-3001 \(UnauthorizedError: .*\): refused, nothing was accepted$/)]);
  });

  it('prints the idempotency key of a proposal that got no answer, so that it is resent under it', async () => {
    const lines: string[] = [];
    // Nothing listens on port 1: no answer, so a try may have arrived as far as the agent can tell.
    const run = main({ baseUrl: 'http://127.0.0.1:1', token: 'any', orders: { small: 'order-3003', large: 'order-3004' }, log: (l) => lines.push(l) });
    await expect(run).rejects.toMatchObject({ name: 'UnavailableError', idempotencyKey: 'support-copilot:refund:order-3003' });
    expect(lines).toEqual([
      expect.stringMatching(
        /^could not propose the refund of order-3003 \(UnavailableError: .*\); it may have arrived: propose it again under idempotency key support-copilot:refund:order-3003$/,
      ),
    ]);
  });
});
