import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_PRINCIPALS, writeTokens } from '@countersign/nest';
import { call, eventually } from '@countersign/testing';
import { startEmbedded } from './embedded';

// real: all five services in one process, their stores, the reviewer API with a reviewer bound to one tenant, a second
// tenant's agent; fake: the target system (the embedded sink).

describe("a reviewer bound to a tenant reaches that tenant's review items only (ADR 0052)", () => {
  const home = mkdtempSync(join(tmpdir(), 'countersign-tenants-'));
  writeTokens(home, [
    ...DEFAULT_PRINCIPALS,
    { name: 'globex-agent', principal: 'globex-copilot', kind: 'agent', roles: ['agent'], tenants: ['globex'] },
    { name: 'acme-reviewer', principal: 'dana', kind: 'human', roles: ['reviewer', 'finance', 'security', 'pii:view'], tenants: ['acme'] },
  ]);
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  const token = (name: string) => readFileSync(join(home, 'tokens', name), 'utf8');
  const inReview = async (agent: string, agentId: string, tenant: string, target: string) => {
    const proposal = {
      proposer: { agentId, model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
      confidence: 0.9,
      tenant,
      region: 'eu-west',
      context: {},
      actionType: 'support.refund',
      target,
      parameters: { amount: 480, currency: 'EUR', reason: 'lost' },
    };
    const id = (await call('POST', `${running.url}/v1/proposals`, proposal, token(agent))).body.actionId as string;
    await eventually(async () => expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token(agent))).body.status).toBe('in_review'));
    return id;
  };

  beforeAll(async () => {
    running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
  }, 60_000);
  afterAll(() => running.close());

  it("answers globex's item as an unknown one, lists only acme's, and lets the acme reviewer decide acme's alone", async () => {
    const acme = await inReview('agent', 'support-copilot', 'acme', 'order-acme-1');
    const globex = await inReview('globex-agent', 'globex-copilot', 'globex', 'order-globex-1');
    const dana = token('acme-reviewer');

    // Reading, revealing, claiming, approving, revising, rejecting another tenant's item: the 404 of an id nobody proposed.
    const unknown = await call('GET', `${running.url}/v1/reviews/no-such-action`, undefined, dana);
    expect(unknown.status).toBe(404);
    const notFound = (id: string) => ({ status: 404, body: { message: `no review item for action ${id}` } });
    expect(await call('GET', `${running.url}/v1/reviews/${globex}`, undefined, dana)).toMatchObject(notFound(globex));
    expect(await call('GET', `${running.url}/v1/reviews/${globex}?reveal=true`, undefined, dana)).toMatchObject(notFound(globex));
    expect(await call('POST', `${running.url}/v1/reviews/${globex}/claim`, {}, dana)).toMatchObject(notFound(globex));
    expect(await call('POST', `${running.url}/v1/reviews/${globex}/approve`, { reason: 'looks fine to me' }, dana)).toMatchObject(notFound(globex));
    const revise = { reason: 'half of it', parameters: { amount: 240, currency: 'EUR', reason: 'lost' } };
    expect(await call('POST', `${running.url}/v1/reviews/${globex}/revise`, revise, dana)).toMatchObject(notFound(globex));
    expect(await call('POST', `${running.url}/v1/reviews/${globex}/reject`, { reason: 'not convinced' }, dana)).toMatchObject(notFound(globex));
    const refused = await call('GET', `${running.url}/v1/reviews/${globex}`, undefined, dana);
    expect(JSON.stringify(refused.body)).not.toContain('order-globex-1');

    // The list is acme's only; a reviewer bound to no tenant still sees both.
    const listed = (t: string) => call('GET', `${running.url}/v1/reviews`, undefined, t).then((r) => (r.body as { items: Array<{ actionId: string }> }).items);
    const mine = (await listed(dana)).map((i) => i.actionId);
    expect(mine).toContain(acme);
    expect(mine).not.toContain(globex);
    expect((await listed(token('reviewer'))).map((i) => i.actionId)).toEqual(expect.arrayContaining([acme, globex]));
    // Every tenant's routes refuse the bound reviewer (on shift counts against every tenant's backlog).
    expect(await call('POST', `${running.url}/v1/reviewers/heartbeat`, {}, dana)).toMatchObject({
      status: 403,
      body: { message: expect.stringContaining('the reviewers-on-shift count serves every tenant of the deployment, and you are bound to acme') },
    });

    // Globex's item still waits for a reviewer of globex; acme's is decided by dana, and runs.
    expect((await call('GET', `${running.url}/v1/reviews/${globex}`, undefined, token('reviewer'))).body).toMatchObject({ status: 'pending' });
    expect(await call('GET', `${running.url}/v1/reviews/${acme}`, undefined, dana)).toMatchObject({ status: 200, body: { status: 'pending' } });
    expect(await call('POST', `${running.url}/v1/reviews/${acme}/approve`, { reason: 'photo shows the damage' }, dana)).toMatchObject({
      status: 200,
      body: { status: 'approved' },
    });
    await eventually(async () => expect((await call('GET', `${running.url}/v1/actions/${acme}`, undefined, token('agent'))).body.status).toBe('executed'));
  });
});
