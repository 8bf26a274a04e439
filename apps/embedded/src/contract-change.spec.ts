import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_CONTRACT_PATH } from '@countersign/policy-engine';
import { call, eventually } from '@countersign/testing';
import { startEmbedded } from './embedded';

// real: all five services in one process, their stores and bus on the home's database (PGlite), change control with two
// admins, a restart on the same home; fake: the target system (the embedded sink).

describe('an approved contract change reaches every service, and survives a restart', () => {
  const home = mkdtempSync(join(tmpdir(), 'countersign-contract-'));
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  const start = async () => (running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) }));
  const token = (name: string) => readFileSync(join(home, 'tokens', name), 'utf8');
  const text = readFileSync(DEFAULT_CONTRACT_PATH, 'utf8');
  const before = /^version: (.*)$/m.exec(text)![1];
  const next = `${before}.1`;
  // The next version: reviews leave a degraded mode sooner, and a refund's reason is at most 200 characters.
  const changed = text
    .replace(`version: ${before}`, `version: ${next}`)
    .replace('minDwellSeconds: 300', 'minDwellSeconds: 240')
    .replace('reason: { type: string, minLength: 1, maxLength: 2000 }', 'reason: { type: string, minLength: 1, maxLength: 200 }');
  const refund = JSON.parse(readFileSync(join(__dirname, '../examples/refund-large.json'), 'utf8'));
  const governance = async () =>
    (await call('GET', `${running.url}/v1/governance`, undefined, token('auditor'))).body as { thresholds: { minDwellSeconds: number } };
  const inReview = async (target: string) => {
    const id = (await call('POST', `${running.url}/v1/proposals`, { ...refund, target }, token('agent'))).body.actionId as string;
    await eventually(async () => expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe('in_review'));
    return id;
  };
  /** An approval with changes whose reason the new version refuses (the file's version allows it). */
  const reviseLongReason = (id: string) =>
    call(
      'POST',
      `${running.url}/v1/reviews/${id}/revise`,
      { parameters: { ...refund.parameters, reason: 'r'.repeat(500) }, reason: 'longer reason' },
      token('reviewer'),
    );

  beforeAll(start, 60_000);
  afterAll(() => running.close());

  it('applies the change in the review queue: thresholds on the governance API, parameters checked on approve-with-changes', async () => {
    expect((await governance()).thresholds.minDwellSeconds).toBe(300);
    expect(changed).not.toBe(text);
    const changes = `${running.url}/v1/policy/change-requests`;
    const request = (await call('POST', changes, { contract: changed, reason: 'leave degraded modes sooner' }, token('admin'))).body as {
      id: string;
      digest: string;
    };
    const approved = await call('POST', `${changes}/${request.id}/approve`, { digest: request.digest, reason: 'diff reviewed' }, token('admin2'));
    expect(approved.status).toBe(200);
    await eventually(async () => expect((await call('GET', `${running.url}/v1/policy`, undefined, token('admin'))).body.version).toBe(next));
    await eventually(async () => expect((await governance()).thresholds.minDwellSeconds).toBe(240));

    const id = await inReview('order-contract-1');
    const refused = await reviseLongReason(id);
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/\/parameters\/reason \(maxLength\)/);
    expect((await call('GET', `${running.url}/v1/reviews/${id}`, undefined, token('reviewer'))).body).toMatchObject({ status: 'pending' });
  });

  it('after a restart on the same home, the review queue runs the approved version, not the file', async () => {
    await running.close();
    await start();
    await eventually(async () => expect((await call('GET', `${running.url}/v1/policy`, undefined, token('admin'))).body.version).toBe(next));
    await eventually(async () => expect((await governance()).thresholds.minDwellSeconds).toBe(240));
    const id = await inReview('order-contract-2');
    expect((await reviseLongReason(id)).status).toBe(400);
  }, 60_000);
});
