import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { call, eventually } from '@countersign/testing';
import { startEmbedded } from './embedded';

// real: all five services in one process, the in-process bus and stores, the local flag and audit files;
// fake: the target system (the embedded sink).
describe('embedded mode', () => {
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  const token = (name: string) => readFileSync(join(running.home, 'tokens', name), 'utf8');
  const example = (f: string) => JSON.parse(readFileSync(join(__dirname, '../examples', f), 'utf8'));
  const status = (id: string, want: string) =>
    eventually(async () => {
      const res = await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'));
      expect(res.body.status).toBe(want);
      return res.body;
    }, 10_000);

  beforeAll(async () => {
    running = await startEmbedded({ home: mkdtempSync(join(tmpdir(), 'countersign-')), port: 0, logger: pino({ level: 'silent' }) });
  });
  afterAll(() => running.close());

  it('executes an autonomous proposal once and writes it to the local audit file', async () => {
    const res = await call('POST', `${running.url}/v1/proposals`, example('refund-small.json'), token('agent'));
    expect(res.status).toBe(202);
    const id = res.body.actionId as string;
    const view = await status(id, 'executed');
    expect(view.lane).toBe('autonomous');
    expect(running.sink.effects.filter((e) => e.actionId === id)).toHaveLength(1);
    await eventually(() => {
      const lines = readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.filter((l) => l.entry.actionId === id).map((l) => l.entry.eventType)).toEqual(expect.arrayContaining(['orchestrator.action.proposed.v1', 'policy.decision.made.v1', 'execution.action.executed.v1']));
      // Each line carries its place in the Merkle log and the root after it.
      expect(lines.map((l) => l.index)).toEqual(lines.map((_, i) => i));
      expect(lines.every((l) => /^[0-9a-f]{64}$/.test(l.root))).toBe(true);
    });
  });

  it('holds a large refund for review until a human approves it', async () => {
    const id = (await call('POST', `${running.url}/v1/proposals`, example('refund-large.json'), token('agent'))).body.actionId as string;
    await status(id, 'in_review');
    expect(running.sink.effects.filter((e) => e.actionId === id)).toHaveLength(0);
    const approve = await call('POST', `${running.url}/v1/reviews/${id}/approve`, { reason: 'damage confirmed by photo' }, token('reviewer'));
    expect(approve.status).toBe(200);
    await status(id, 'executed');
    expect(running.sink.effects.filter((e) => e.actionId === id)).toHaveLength(1);
  });

  it('masks a card number for the reviewer and the audit trail, and executes with the real one', async () => {
    const card = '4111 1111 1111 1111';
    const proposal = { ...example('refund-small.json'), target: 'order-81', parameters: { amount: 60, currency: 'EUR', reason: 'late', card } };
    const id = (await call('POST', `${running.url}/v1/proposals`, proposal, token('agent'))).body.actionId as string;
    await status(id, 'in_review');
    const item = await call('GET', `${running.url}/v1/reviews/${id}`, undefined, token('reviewer'));
    expect(JSON.stringify(item.body)).not.toContain(card);
    expect(JSON.stringify(item.body)).toContain('[card …1111]');
    await call('POST', `${running.url}/v1/reviews/${id}/approve`, { reason: 'customer confirmed by phone', shownDigest: item.body.shownDigest }, token('reviewer'));
    await status(id, 'executed');
    expect(running.sink.effects.find((e) => e.actionId === id)!.body).toMatchObject({ parameters: { card } });
    await eventually(() => {
      const audit = readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8');
      expect(audit).toContain(id);
      expect(audit).not.toContain(card);
      expect(audit).not.toContain('4111111111111111');
    });
  });

  it('never executes a prohibited action', async () => {
    const id = (await call('POST', `${running.url}/v1/proposals`, example('legal-statement.json'), token('agent'))).body.actionId as string;
    const view = await status(id, 'prohibited');
    expect(JSON.stringify(view.timeline)).toMatch(/legal statements are made by people/);
    expect(running.sink.effects.filter((e) => e.actionId === id)).toHaveLength(0);
  });

  it('answers /healthz and /readyz', async () => {
    expect((await call('GET', `${running.url}/healthz`)).status).toBe(200);
    expect((await call('GET', `${running.url}/readyz`)).body).toMatchObject({ status: 'ready' });
  });
});
