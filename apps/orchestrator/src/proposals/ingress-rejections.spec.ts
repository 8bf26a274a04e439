import { join } from 'node:path';
import { Module } from '@nestjs/common';
import pino from 'pino';
import { InMemoryBus, RefusedEvent } from '@countersign/bus';
import { Proposal, TOPICS } from '@countersign/contracts';
import { METRIC_DEFINITIONS, Metrics, parsePrometheusText, sampleSum } from '@countersign/metrics';
import { PlatformModule, serve, sha256Hex, TokenRegistry } from '@countersign/nest';
import { RunningContract } from '@countersign/policy';
import { call, eventually, refundProposal } from '@countersign/testing';
import { InMemoryActionViewRepository } from '../actions/in-memory-action-view.repository';
import { ACTION_VIEWS, IDEMPOTENCY, PROPOSAL_RATE } from '../tokens';
import { InMemoryIdempotencyRepository } from './in-memory-idempotency.repository';
import { IngressRejections, rejectionOf } from './ingress-rejections';
import { ProposalRateGuard, ProposalRateLimit } from './proposal-rate';
import { DEFAULT_PROPOSAL_RATE } from './proposal-rate.settings';
import { ProposalsController } from './proposals.controller';
import { ProposalsService } from './proposals.service';

// real: the platform (authentication guard, JSON body reader, rejection filter), the proposals controller and service,
// the project's contract, the in-memory idempotency store and bus, a prom-client registry, HTTP on 127.0.0.1; fake: nothing.
const contractPath = join(__dirname, '../../../policy-engine/contract/countersign.contract.yaml');
const logger = pino({ level: 'silent' });
const refund = (over: Partial<Proposal> = {}) => ({ ...refundProposal(), parameters: { amount: 48, currency: 'EUR', reason: 'damaged' }, ...over });

describe('countersign_ingress_rejections_total', () => {
  const metrics = new Metrics('orchestrator', METRIC_DEFINITIONS, { defaultMetrics: false });
  const bus = new InMemoryBus({ logger, source: 'orchestrator' });
  const contract = RunningContract.fromFile(contractPath);
  const tokens = new TokenRegistry([
    { principal: 'support-copilot', kind: 'agent', roles: ['agent'], tokenSha256: sha256Hex('agent-token') },
    { principal: 'prometheus', kind: 'service', roles: ['metrics'], tokenSha256: sha256Hex('scrape-token') },
  ]);
  let url = '';
  let close = async () => undefined;
  const rejections = async () => {
    const samples = parsePrometheusText(await metrics.render()).filter((s) => s.name === 'countersign_ingress_rejections_total');
    return Object.fromEntries(samples.map((s) => [s.labels.reason, s.value]));
  };

  beforeAll(async () => {
    @Module({
      controllers: [ProposalsController],
      providers: [
        ProposalsService,
        IngressRejections,
        { provide: IDEMPOTENCY, useValue: new InMemoryIdempotencyRepository() },
        { provide: ACTION_VIEWS, useValue: new InMemoryActionViewRepository() },
        { provide: RunningContract, useValue: contract },
        { provide: PROPOSAL_RATE, useValue: new ProposalRateLimit(DEFAULT_PROPOSAL_RATE) },
        ProposalRateGuard,
      ],
    })
    class Proposals {}
    @Module({ imports: [PlatformModule.forRoot({ service: 'orchestrator', bus, logger, tokens, metrics }), Proposals] })
    class Root {}
    const { app, port } = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${port}/v1/proposals`;
    close = async () => {
      await app.close();
      await bus.close();
    };
  });
  afterAll(() => close());

  it('counts each refused HTTP proposal by reason, whatever refused it, and no accepted one', async () => {
    expect((await call('POST', url, refund(), 'agent-token')).status).toBe(202);
    expect((await call('POST', url, refund())).status).toBe(401);
    expect((await call('POST', url, refund(), 'wrong-token')).status).toBe(401);
    // A token without the agent role; then an agent id the caller may not act as.
    expect((await call('POST', url, refund(), 'scrape-token')).status).toBe(403);
    expect((await call('POST', url, refund({ proposer: { ...refundProposal().proposer, agentId: 'someone-else' } }), 'agent-token')).status).toBe(403);
    // Parameters outside the contract, then JSON that is no JSON (refused by the body reader, before any controller).
    expect((await call('POST', url, refund({ parameters: { amount: -1 } }), 'agent-token')).status).toBe(400);
    expect((await call('POST', url, '{"actionType":', 'agent-token')).status).toBe(400);
    expect((await call('POST', url, { ...refund(), context: { blob: 'x'.repeat(70 * 1024) } }, 'agent-token')).status).toBe(413);
    // Not a proposal: not counted.
    expect((await call('POST', `${url}-not`, refund(), 'agent-token')).status).toBe(404);
    // Counted as each response finishes on the server: waited for, not assumed.
    await eventually(async () => expect(await rejections()).toEqual({ unauthenticated: 2, forbidden: 2, invalid: 2, too_large: 1 }), 5_000);
  });

  it('counts a proposal refused on the proposals topic (unsigned) as unauthenticated', async () => {
    const before = sampleSum(parsePrometheusText(await metrics.render()), 'countersign_ingress_rejections_total', { reason: 'unauthenticated' });
    const service = new ProposalsService(bus, new InMemoryIdempotencyRepository(), new InMemoryActionViewRepository(), tokens, contract, metrics);
    const submitted = bus.envelope(TOPICS.proposalSubmitted, refund() as Proposal, { subject: 'bus-action-1', correlationId: 'c-1' });
    await expect(service.acceptFromBus(submitted)).rejects.toBeInstanceOf(RefusedEvent);
    expect(sampleSum(parsePrometheusText(await metrics.render()), 'countersign_ingress_rejections_total', { reason: 'unauthenticated' })).toBe(before + 1);
  });

  it.each([
    [400, 'invalid'],
    [415, 'invalid'],
    [401, 'unauthenticated'],
    [403, 'forbidden'],
    [413, 'too_large'],
    [429, 'rate_limited'],
    [409, undefined],
    [503, undefined],
    [202, undefined],
  ])('reads status %i as %s', (status, reason) => {
    expect(rejectionOf(status)).toBe(reason);
  });
});
