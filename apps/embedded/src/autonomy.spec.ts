import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@countersign/logging';
import { call, eventually } from '@countersign/testing';
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
    // A refund waiting for a reviewer when the switch goes off: its card says an approval would not execute.
    const example = JSON.parse(readFileSync(join(__dirname, '../examples/refund-large.json'), 'utf8'));
    const waiting = (await call('POST', `${running.url}/v1/proposals`, { ...example, target: 'order-switched-off' }, token('agent'))).body.actionId as string;
    const item = async () => (await call('GET', `${running.url}/v1/reviews/${waiting}`, undefined, token('reviewer'))).body;
    await eventually(async () => expect(await item()).toMatchObject({ status: 'pending' }), 10_000, 100);
    expect(await item()).not.toHaveProperty('stoppedByKillSwitch');
    const off = await call('POST', `${running.url}/v1/autonomy/support.refund/kill-switch`, { state: 'off', reason: 'incident' }, token('admin'));
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ value: 'off', flagStore: 'flag-file', appliedToFlagStore: true });
    // The embedded mode has no Unleash: its answer does not claim one holds the value.
    expect(off.body).not.toHaveProperty('appliedToUnleash');
    const file = JSON.parse(readFileSync(running.flagsFile, 'utf8')) as { features: Array<{ name: string; enabled: boolean }> };
    expect(file.features.find((f) => f.name === REFUND)?.enabled).toBe(false);
    await eventually(async () => expect(await item()).toMatchObject({ status: 'pending', stoppedByKillSwitch: REFUND }), 10_000, 100);

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
    await eventually(async () => expect(await item()).not.toHaveProperty('stoppedByKillSwitch'), 10_000, 100);
  });

  it('a raise request that names neither a level nor the kill switch, or both, is told what to name', async () => {
    const told = 'name exactly one of level ("review-all", "review-risky" or "autonomous") or killSwitch ("on"), with a reason';
    for (const body of [{ reason: 'incident over' }, { level: 'autonomous', killSwitch: 'on', reason: 'incident over' }]) {
      const res = await call('POST', `${running.url}/v1/autonomy/support.reply/raise-requests`, body, token('admin'));
      expect(res.status).toBe(400);
      expect(res.body.message).toContain(told);
    }
    const off = await call('POST', `${running.url}/v1/autonomy/support.reply/raise-requests`, { killSwitch: 'off', reason: 'incident' }, token('admin'));
    expect(off.status).toBe(400);
    expect(off.body.message).toContain('killSwitch: only on');
  });

  it('a change to a type the running contract does not know is a 404, and leaves no flag behind', async () => {
    const before = readFileSync(running.flagsFile, 'utf8');
    const lower = await call('POST', `${running.url}/v1/autonomy/crypto.transfer/lower`, { level: 'review-all', reason: 'not ours' }, token('admin'));
    expect(lower).toMatchObject({ status: 404, body: { message: expect.stringMatching(/^no action type crypto\.transfer in the running contract \(/) } });
    const off = await call('POST', `${running.url}/v1/autonomy/crypto.transfer/kill-switch`, { state: 'off', reason: 'not ours' }, token('admin'));
    expect(off.status).toBe(404);
    const raise = await call('POST', `${running.url}/v1/autonomy/crypto.transfer/raise-requests`, { level: 'autonomous', reason: 'not ours' }, token('admin'));
    expect(raise.status).toBe(404);
    // The global default has a level, not a kill switch.
    const defaultOff = await call('POST', `${running.url}/v1/autonomy/default/kill-switch`, { state: 'off', reason: 'everything' }, token('admin'));
    expect(defaultOff).toMatchObject({ status: 404, body: { message: 'default has an autonomy level, not a kill switch: switch off each action type' } });
    expect((await call('GET', `${running.url}/v1/autonomy/default`, undefined, token('admin'))).body).toMatchObject({
      actionType: 'default',
      killSwitch: null,
    });
    expect(readFileSync(running.flagsFile, 'utf8')).toBe(before);
  });

  describe('flags edited in the flag file (as someone with access to the flag server would)', () => {
    type Feature = { name: string; enabled: boolean; variants?: Array<{ name: string; weight: number; stickiness?: string; weightType?: string }> };
    const TAG_AUTONOMY = 'countersign.autonomy.ticket.tag';
    const addFlag = (feature: Feature) => {
      const file = JSON.parse(readFileSync(running.flagsFile, 'utf8')) as { features: Feature[] };
      const features = [...file.features.filter((f) => f.name !== feature.name), feature];
      writeFileSync(running.flagsFile, JSON.stringify({ ...file, features }, null, 2));
    };
    const tagged = async (n: number) => {
      const proposal = {
        actionType: 'ticket.tag',
        target: `ticket-${n}`,
        parameters: { tags: ['billing'] },
        proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
        confidence: 0.9,
        tenant: 'acme',
        region: 'eu-west',
        context: {},
      };
      const id = (await call('POST', `${running.url}/v1/proposals`, proposal, token('agent'))).body.actionId as string;
      return eventually(async () => {
        const view = (await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body as { status: string; lane: string | null };
        expect(view.lane).not.toBeNull();
        return view;
      });
    };
    const level = async (type: string) => (await call('GET', `${running.url}/v1/autonomy/${type}`, undefined, token('admin'))).body.autonomy as string;

    /** Waits until the drift watcher has set `flag` back (audited as reverted) `count` times in all. */
    const setBack = (flag: string, count: number) =>
      eventually(
        async () => {
          const drifts = (await call('GET', `${running.url}/v1/audit/entries?type=control.autonomy.drift-detected.v1`, undefined, token('auditor'))).body
            .entries as Array<{ data: { flag: string; outcome: string } }>;
          expect(drifts.filter((e) => e.data.flag === flag && e.data.outcome === 'reverted')).toHaveLength(count);
        },
        10_000,
        100,
      );

    it('an autonomy flag whose only variant weighs 0 is not autonomous: reviewed, and the watcher sets it back', async () => {
      const lowered = await call('POST', `${running.url}/v1/autonomy/ticket.tag/lower`, { level: 'review-all', reason: 'tag by hand for now' }, token('admin'));
      expect(lowered.status).toBe(200);
      // A zero-weight `autonomous` variant: it cannot be picked, so the flag reads unknown (review) in the decisions
      // and the admin view, never autonomous; and it is not the approved level, so the watcher writes that back.
      addFlag({ name: TAG_AUTONOMY, enabled: true, variants: [{ name: 'autonomous', weight: 0, stickiness: 'default', weightType: 'fix' }] });
      expect(await tagged(1)).toMatchObject({ lane: 'review', status: 'in_review' });
      expect(['unknown', 'review-all']).toContain(await level('ticket.tag'));
      await setBack(TAG_AUTONOMY, 1);
      expect(await level('ticket.tag')).toBe('review-all');
    });

    it('a flag made for one type after the global default was lowered does not undo the lowering', async () => {
      const lowered = await call(
        'POST',
        `${running.url}/v1/autonomy/default/lower`,
        { level: 'review-all', reason: 'incident: review everything' },
        token('admin'),
      );
      expect(lowered.status).toBe(200);
      // The type's own flag says autonomous now: the default caps it at once, and the watcher sets it back.
      addFlag({ name: TAG_AUTONOMY, enabled: true, variants: [{ name: 'autonomous', weight: 1000, stickiness: 'default', weightType: 'variable' }] });
      expect(await level('ticket.tag')).toBe('review-all');
      expect(await tagged(2)).toMatchObject({ lane: 'review', status: 'in_review' });
      await setBack(TAG_AUTONOMY, 2);
      expect(await tagged(3)).toMatchObject({ lane: 'review', status: 'in_review' });
    });

    it('a kill switch removed from the file is a lowering: accepted, written back off, never on (red team, 2026-12-07)', async () => {
      const flag = 'countersign.exec.support.refund';
      const file = JSON.parse(readFileSync(running.flagsFile, 'utf8')) as { features: Feature[] };
      expect(file.features.find((f) => f.name === flag)?.enabled).toBe(true);
      writeFileSync(running.flagsFile, JSON.stringify({ ...file, features: file.features.filter((f) => f.name !== flag) }, null, 2));
      const accepted = await eventually(
        async () => {
          const drifts = (await call('GET', `${running.url}/v1/audit/entries?type=control.autonomy.drift-detected.v1`, undefined, token('auditor'))).body
            .entries as Array<{ data: { flag: string; outcome: string; reason: string } }>;
          const found = drifts.find((e) => e.data.flag === flag);
          expect(found).toBeDefined();
          return found!;
        },
        10_000,
        100,
      );
      expect(accepted.data).toMatchObject({ outcome: 'accepted', reason: expect.stringContaining('accepted as a lowering, and written as off') });
      await eventually(() => {
        const now = JSON.parse(readFileSync(running.flagsFile, 'utf8')) as { features: Feature[] };
        expect(now.features.find((f) => f.name === flag)?.enabled).toBe(false);
      });
      const reply = (await call('GET', `${running.url}/v1/autonomy/support.refund`, undefined, token('admin'))).body as { killSwitch: string };
      expect(reply.killSwitch).toBe('off');
    });

    it('a flag whose name misspells a type is audited as governing nothing, naming the type it most likely meant (config probe, 2026-12-05)', async () => {
      // It was audited as "accepted", as if support.refund now needed review; it changed nothing.
      const typo = 'countersign.autonomy.support.refnud';
      addFlag({ name: typo, enabled: true, variants: [{ name: 'review-all', weight: 1000, stickiness: 'default', weightType: 'variable' }] });
      const entry = await eventually(
        async () => {
          const changes = (await call('GET', `${running.url}/v1/audit/entries?type=control.autonomy.changed.v1`, undefined, token('auditor'))).body
            .entries as Array<{ data: { flag: string; reason: string } }>;
          const found = changes.find((e) => e.data.flag === typo);
          expect(found).toBeDefined();
          return found!;
        },
        10_000,
        100,
      );
      expect(entry.data.reason).toMatch(
        /accepted as the approved state \(support\.refnud is no action type of the running contract [^:]+: did you mean support\.refund\?; this flag governs nothing until a contract has it\)$/,
      );
    });
  });
});
