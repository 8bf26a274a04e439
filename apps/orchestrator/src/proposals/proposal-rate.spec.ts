import { Module } from '@nestjs/common';
import pino from 'pino';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { PlatformModule, serve, sha256Hex, TokenRegistry } from '@countersign/nest';
import { PROJECT_CONTRACT_PATH, refundProposal, testExecutorKey, testPolicyEngineKey, testReviewQueueKey } from '@countersign/testing';
import { createInMemoryActionViewRepository } from '../actions/in-memory-action-view.repository';
import { OrchestratorModule } from '../orchestrator.module';
import { createInMemoryIdempotencyRepository } from './in-memory-idempotency.repository';
import { proposalCost, ProposalRateLimit } from './proposal-rate';
import { DEFAULT_PROPOSAL_RATE } from './proposal-rate.settings';

// real: ProposalRateLimit with a clock of the test's own; then the orchestrator module in the platform's Nest HTTP app
// (the authentication guard, the rate guard, the body reader, the rejection filter and its audit budget), with the
// in-process bus and the in-memory stores; fake: nothing.
const logger = pino({ level: 'silent' });

describe('ProposalRateLimit (a token bucket per principal)', () => {
  it('lets a burst through, then one per 1/perSecond, saying how many whole seconds until the next', () => {
    let now = 0;
    const limit = new ProposalRateLimit({ perSecond: 2, burst: 3 }, () => now);
    expect([limit.take('a'), limit.take('a'), limit.take('a')]).toEqual([undefined, undefined, undefined]);
    expect(limit.take('a')).toBe(1);
    now += 499;
    expect(limit.take('a')).toBe(1);
    now += 2; // 0.501 s: one proposal's worth back
    expect(limit.take('a')).toBeUndefined();
    expect(limit.take('a')).toBe(1);
    // A long quiet spell fills the bucket to its burst, not beyond.
    now += 3_600_000;
    expect([1, 2, 3, 4].map(() => limit.take('a'))).toEqual([undefined, undefined, undefined, 1]);
  });

  it('charges a proposal by its size: one, and one more per 8 KiB of body (overload probe, 2026-12-06)', () => {
    expect([undefined, '120', '8191', '8192', '49000', '65536', '999999999', 'abc', ['1', '2']].map((l) => proposalCost(l))).toEqual([
      9, 1, 1, 2, 6, 9, 9, 9, 9,
    ]);
    let now = 0;
    const limit = new ProposalRateLimit({ perSecond: 10, burst: 20 }, () => now);
    // Three proposals of 49 KB take what eighteen small ones would.
    expect([6, 6, 6].map((cost) => limit.take('a', cost))).toEqual([undefined, undefined, undefined]);
    expect(limit.take('a', 6)).toBe(1);
    expect(limit.take('a')).toBeUndefined();
    now += 400;
    expect(limit.take('a', 6)).toBe(1);
    now += 200;
    expect(limit.take('a', 6)).toBeUndefined();
  });

  it('keeps each principal to its own bucket, and says a slow rate in seconds', () => {
    const now = 0;
    const limit = new ProposalRateLimit({ perSecond: 0.1, burst: 1 }, () => now);
    expect(limit.take('a')).toBeUndefined();
    expect(limit.take('a')).toBe(10);
    expect(limit.take('b')).toBeUndefined();
  });

  it('refuses a rate that lets nothing through', () => {
    expect(() => new ProposalRateLimit({ perSecond: 0, burst: 10 })).toThrow(/perSecond > 0/);
    expect(() => new ProposalRateLimit({ perSecond: 1, burst: 0 })).toThrow(/burst ≥ 1/);
    expect(DEFAULT_PROPOSAL_RATE).toEqual({ perSecond: 100, burst: 1_000 });
  });
});

describe('POST /v1/proposals past the principal’s rate', () => {
  // A refund the shipped contract's parameter schema takes (the fixture's amount alone is not a whole refund).
  const proposal = (target: string) => ({ ...refundProposal(), target, parameters: { amount: 12.5, currency: 'EUR', reason: 'late delivery' } });
  const audited: TopicMap[typeof TOPICS.requestRejected][] = [];
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const bus = new InMemoryBus({ logger });
    await bus.subscribe({ group: 'test.audit', handlers: { [TOPICS.requestRejected]: async (e) => void audited.push(e) } });
    const tokens = new TokenRegistry([
      { principal: 'agent-a', kind: 'agent', roles: ['agent'], agentIds: ['support-copilot'], tokenSha256: sha256Hex('token-a') },
      { principal: 'agent-b', kind: 'agent', roles: ['agent'], agentIds: ['support-copilot'], tokenSha256: sha256Hex('token-b') },
    ]);
    @Module({
      imports: [
        PlatformModule.forRoot({ service: 'orchestrator', bus, logger, tokens }),
        OrchestratorModule.register({
          contractPath: PROJECT_CONTRACT_PATH,
          approvalKeys: [testReviewQueueKey.verifyKey],
          decisionKeys: [testPolicyEngineKey.verifyKey],
          outcomeKeys: [testExecutorKey.verifyKey],
          actionViews: createInMemoryActionViewRepository(),
          idempotency: createInMemoryIdempotencyRepository(),
          // Two at once, then one every 1,000 s: nothing comes back while the test runs.
          proposalRate: { perSecond: 0.001, burst: 2 },
        }),
      ],
    })
    class Root {}
    const running = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${running.port}`;
    close = () => running.app.close();
  });
  afterAll(() => close?.());

  const post = async (token: string | undefined, body: string) => {
    const res = await fetch(`${url}/v1/proposals`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token && { Authorization: `Bearer ${token}` }) },
      body,
    });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { message?: string } };
  };

  it('answers 429 with Retry-After past the burst, before reading the body, audited under the principal; other principals go on', async () => {
    expect((await post('token-a', JSON.stringify(proposal('order-1')))).status).toBe(202);
    expect((await post('token-a', JSON.stringify(proposal('order-2')))).status).toBe(202);
    const refused = await post('token-a', JSON.stringify(proposal('order-3')));
    expect(refused).toMatchObject({
      status: 429,
      retryAfter: '1000',
      body: {
        message:
          'principal agent-a proposes faster than its rate (0.001 a second, 2 at once; a proposal counts one more per 8 KiB of body): retry after 1000 s',
      },
    });
    // Refused before its body is read: malformed JSON gets the same 429, not a 400.
    expect(await post('token-a', '{"actionType": ')).toMatchObject({ status: 429 });
    // Another principal has its own rate; no token is a 401, never a 429.
    expect((await post('token-b', JSON.stringify(proposal('order-4')))).status).toBe(202);
    expect((await post(undefined, JSON.stringify(proposal('order-5')))).status).toBe(401);
    await eventuallyAudited(3);
    expect(audited.slice(0, 2).map((e) => [e.actor.id, e.data.status, e.data.principal, e.data.path])).toEqual([
      ['agent-a', 429, 'agent-a', '/v1/proposals'],
      ['agent-a', 429, 'agent-a', '/v1/proposals'],
    ]);
    expect(audited[2]).toMatchObject({ actor: { id: 'anonymous' }, data: { status: 401 } });
  });

  it('audits a principal’s rate refusals within a budget: a flood of them is not one entry each', async () => {
    const rateRefusals = () => audited.filter((e) => e.data.status === 429).length;
    for (let i = 0; i < 200; i++) expect((await post('token-a', JSON.stringify(proposal(`order-f${i}`)))).status).toBe(429);
    // 202 refused in all (two above). A principal's budget is 100 at once, 2 a second after: the rest are counted for a summary.
    const deadline = Date.now() + 10_000;
    while (rateRefusals() < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(rateRefusals()).toBeGreaterThanOrEqual(100);
    expect(rateRefusals()).toBeLessThan(202);
  });

  async function eventuallyAudited(n: number) {
    const deadline = Date.now() + 10_000;
    while (audited.length < n) {
      if (Date.now() > deadline) throw new Error(`${audited.length} of ${n} refusals audited`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
});
