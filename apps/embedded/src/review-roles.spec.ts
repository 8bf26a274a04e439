import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_PRINCIPALS, writeTokens } from '@countersign/nest';
import { call, eventually } from '@countersign/testing';
import { startEmbedded } from './embedded';

// real: all five services in one process, their stores, the reviewer API with a reviewer holding one role only;
// fake: the target system (the embedded sink).

describe('a review item is read by the reviewers who may work it, not by every reviewer', () => {
  const home = mkdtempSync(join(tmpdir(), 'countersign-roles-'));
  writeTokens(home, [...DEFAULT_PRINCIPALS, { name: 'finance-only', principal: 'fiona', kind: 'human', roles: ['reviewer', 'finance'] }]);
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  const token = (name: string) => readFileSync(join(home, 'tokens', name), 'utf8');
  const proposer = { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' };
  const inReview = async (proposal: object) => {
    const id = (await call('POST', `${running.url}/v1/proposals`, proposal, token('agent'))).body.actionId as string;
    await eventually(async () => expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe('in_review'));
    return id;
  };

  beforeAll(async () => {
    running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
  }, 60_000);
  afterAll(() => running.close());

  it('a finance reviewer reads a refund for finance, and gets 403 for an account change that needs security', async () => {
    const common = { proposer, confidence: 0.9, tenant: 'acme', region: 'eu-west', context: {} };
    const emailChange = await inReview({ ...common, actionType: 'account.email_change', target: 'customer-9', parameters: { newEmail: 'new@example.com' } });
    const refund = await inReview({
      ...common,
      actionType: 'support.refund',
      target: 'order-77',
      parameters: { amount: 480, currency: 'EUR', reason: 'lost' },
    });

    const one = await call('GET', `${running.url}/v1/reviews/${refund}`, undefined, token('finance-only'));
    expect(one.status).toBe(200);
    // The list gives each item as reading it does, with the digest a decision names (agent developer probe, 2026-12-05).
    const inList = ((await call('GET', `${running.url}/v1/reviews`, undefined, token('finance-only'))).body as { items: Array<{ actionId: string }> }).items;
    expect(inList.find((i) => i.actionId === refund)).toEqual(one.body);
    const refused = await call('GET', `${running.url}/v1/reviews/${emailChange}`, undefined, token('finance-only'));
    expect(refused).toMatchObject({ status: 403, body: { message: 'reading this action requires one of the roles: security' } });
    expect(JSON.stringify(refused.body)).not.toContain('customer-9');
    // A reviewer holding the role reads it; the list never showed it to the other one.
    expect((await call('GET', `${running.url}/v1/reviews/${emailChange}`, undefined, token('reviewer'))).status).toBe(200);
    const listed = (await call('GET', `${running.url}/v1/reviews`, undefined, token('finance-only'))).body as { items: Array<{ actionId: string }> };
    expect(listed.items.map((i) => i.actionId)).not.toContain(emailChange);
  });

  it("reads no action's timeline for a reviewer: 403 alike for an action in review and for an id nobody proposed", async () => {
    const refund = await inReview({
      proposer,
      confidence: 0.9,
      tenant: 'acme',
      region: 'eu-west',
      context: {},
      actionType: 'support.refund',
      target: 'order-78',
      parameters: { amount: 480, currency: 'EUR', reason: 'lost' },
    });
    // A canary is never proposed: an answer that differed for unknown ids would tell it apart (ADR 0018).
    const real = await call('GET', `${running.url}/v1/actions/${refund}`, undefined, token('finance-only'));
    const unknown = await call('GET', `${running.url}/v1/actions/no-such-action`, undefined, token('finance-only'));
    expect(real.status).toBe(403);
    expect([unknown.status, unknown.body]).toEqual([real.status, real.body]);
    expect(JSON.stringify(real.body)).not.toContain('order-78');
    // The card is where a reviewer reads it; auditors read the timeline.
    expect((await call('GET', `${running.url}/v1/reviews/${refund}`, undefined, token('finance-only'))).status).toBe(200);
    expect((await call('GET', `${running.url}/v1/actions/${refund}`, undefined, token('auditor'))).body.status).toBe('in_review');
  });
});
