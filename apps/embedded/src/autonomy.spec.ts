import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@countersign/logging';
import { call } from '@countersign/testing';
import { startEmbedded } from './embedded';

// real: all five services in one process, the in-process bus (the control topic), the flag file as the flag
// server (written by the autonomy API) and its reader; fake: the target system (the embedded sink).
describe('embedded autonomy changes', () => {
  const REFUND = 'countersign.exec.support.refund';
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  const token = (name: string) => readFileSync(join(running.home, 'tokens', name), 'utf8');

  beforeAll(async () => {
    running = await startEmbedded({ home: mkdtempSync(join(tmpdir(), 'countersign-')), port: 0, logger: createLogger('embedded-test', { level: 'silent' }) });
  }, 60_000);
  afterAll(() => running.close());

  it('a kill switch off is one call, in force when it answers and written to the flag file; on again takes a second admin', async () => {
    const off = await call('POST', `${running.url}/v1/autonomy/support.refund/kill-switch`, { state: 'off', reason: 'incident' }, token('admin'));
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ value: 'off', appliedToUnleash: true });
    const file = JSON.parse(readFileSync(running.flagsFile, 'utf8')) as { features: Array<{ name: string; enabled: boolean }> };
    expect(file.features.find((f) => f.name === REFUND)?.enabled).toBe(false);

    const request = await call('POST', `${running.url}/v1/autonomy/support.refund/raise-requests`, { killSwitch: 'on', reason: 'closed' }, token('admin'));
    expect(request).toMatchObject({ status: 201 });
    const self = await call(
      'POST',
      `${running.url}/v1/autonomy/raise-requests/${request.body.id}/approve`,
      { digest: request.body.digest, reason: 'mine' },
      token('admin'),
    );
    expect(self.status).toBe(403);
    const approved = await call(
      'POST',
      `${running.url}/v1/autonomy/raise-requests/${request.body.id}/approve`,
      { digest: request.body.digest, reason: 'checked' },
      token('admin2'),
    );
    expect(approved).toMatchObject({ status: 200, body: { status: 'approved', applied: { value: 'on' } } });
  });
});
