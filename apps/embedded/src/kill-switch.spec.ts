import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TOPICS } from '@countersign/contracts';
import { FlagFile } from '@countersign/flags';
import { createLogger } from '@countersign/logging';
import { parsePrometheusText } from '@countersign/metrics';
import { approvedSwitchOn, call, eventually } from '@countersign/testing';
import { startEmbedded } from './embedded';

// real: all five services in one process, the in-process bus, the local flag file and its watch, the audit file;
// fake: the target system (the embedded sink).
describe('embedded kill switches', () => {
  const REFUND = 'countersign.exec.support.refund';
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  const logLines: Array<{ level: number; msg: string }> = [];
  const token = (name: string) => readFileSync(join(running.home, 'tokens', name), 'utf8');
  const refund = () => ({
    ...JSON.parse(readFileSync(join(__dirname, '../examples/refund-small.json'), 'utf8')),
    target: `order-${Math.random().toString(36).slice(2)}`,
  });
  const status = (id: string, want: string) =>
    eventually(async () => expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe(want), 10_000);
  const propose = async () => (await call('POST', `${running.url}/v1/proposals`, refund(), token('agent'))).body.actionId as string;
  const effects = (id: string) => running.sink.effects.filter((e) => e.actionId === id).length;
  /** Saves the flag file as `sed -i` and most editors do: a new file renamed over the old one. */
  const saveByRename = (text: string) => {
    const temp = join(dirname(running.flagsFile), '.flags.json.swp');
    writeFileSync(temp, text);
    renameSync(temp, running.flagsFile);
  };
  const withRefund = (enabled: boolean) => {
    const file = JSON.parse(readFileSync(running.flagsFile, 'utf8')) as FlagFile;
    return JSON.stringify({ features: file.features.map((f) => (f.name === REFUND ? { ...f, enabled } : f)) }, null, 2);
  };
  /** Bounded wait until the running services read the flag as `want` (no timing luck). */
  const flagReads = (want: string) => eventually(() => expect(running.flags.state(REFUND)).toBe(want), 5_000, 25);
  /** The refund switch's state as /metrics shows it: the one `state` at 1 (soak probe, 2026-12-05: no metric showed a switch). */
  const switchShows = async () => {
    const text = (await call('GET', `${running.url}/metrics`, undefined, token('metrics'))).body as unknown as string;
    const series = parsePrometheusText(text).filter((s) => s.name === 'countersign_kill_switch' && s.labels.action_type === 'support.refund');
    expect(series.map((s) => s.labels.state).sort()).toEqual(['off', 'on', 'unknown']);
    return series.filter((s) => s.value === 1).map((s) => s.labels.state);
  };
  /** Bounded wait until /metrics shows the switch `want` (the executor reads it through the control topic too). */
  const switchIs = (want: string) => eventually(async () => expect(await switchShows()).toEqual([want]), 5_000, 25);
  const audited = () =>
    readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).entry);

  beforeAll(async () => {
    running = await startEmbedded({
      home: mkdtempSync(join(tmpdir(), 'countersign-')),
      port: 0,
      logger: createLogger('embedded-test', { level: 'info', destination: { write: (l: string) => void logLines.push(JSON.parse(l)) } }),
    });
  }, 60_000); // a first start makes the home's database
  afterAll(() => running.close());

  /** On again the approved way: one admin asks, another approves (a raise is never one person's, ADR 0014). */
  const raiseRefund = async () => {
    await approvedSwitchOn(running.url, 'support.refund', { requester: token('admin'), approver: token('admin2') });
    await flagReads('on');
  };
  /** Waits until the watcher has audited `count` drifts of the refund switch, the last one with `outcome`. */
  const driftIs = (count: number, outcome: string) =>
    eventually(
      () => {
        const drifts = audited().filter((e) => e.eventType === TOPICS.autonomyDriftDetected && e.data.flag === REFUND);
        expect(drifts).toHaveLength(count);
        expect(drifts.at(-1).data.outcome).toBe(outcome);
        // Named where it was changed: the embedded mode's flags.json, not "Unleash" (auditor probe, 2026-12-06).
        expect(drifts.at(-1).data.reason).toMatch(/ in the flag file by /);
      },
      10_000,
      50,
    );
  const fileSays = () => (JSON.parse(readFileSync(running.flagsFile, 'utf8')) as FlagFile).features.find((f) => f.name === REFUND)?.enabled;

  it('a kill switch turned off by write-then-rename stops refunds, every time the file is saved that way; on again by the file is set back', async () => {
    // The drift watcher's first look adopted the flags as they stood: the switch is on and controlled.
    await eventually(() => expect(audited().some((e) => e.eventType === TOPICS.autonomyChanged && e.data.flag === REFUND)).toBe(true), 10_000, 50);
    await switchIs('on');
    for (let round = 0; round < 2; round++) {
      saveByRename(withRefund(false));
      await flagReads('off');
      await switchIs('off');
      const off = await propose();
      await status(off, 'prohibited');
      expect(effects(off)).toBe(0);
      // Off in the file is a lowering: accepted as the approved state (audited), so switching on by the file is a raise
      // nobody approved, and the watcher writes the file back (the approved off is in force all along).
      await driftIs(round * 2 + 1, 'accepted');
      saveByRename(withRefund(true));
      await driftIs(round * 2 + 2, 'reverted');
      await eventually(() => expect(fileSays()).toBe(false), 10_000, 50);
      const still = await propose();
      await status(still, 'prohibited');
      expect(effects(still)).toBe(0);
      await raiseRefund();
      await switchIs('on');
      const on = await propose();
      await status(on, 'executed');
      expect(effects(on)).toBe(1);
    }
  });

  it('an invalid flag file stops execution (not the previous flags), is logged at error and audited; the action waits, is not refused for good, and runs once the file is good', async () => {
    const good = readFileSync(running.flagsFile, 'utf8');
    writeFileSync(running.flagsFile, good.slice(0, good.length / 2)); // a half-written save
    await flagReads('unknown');
    await switchIs('unknown');
    const id = await propose();
    // The policy engine holds it (a transient doubt is retried, never made final): it has tried, and nothing ran.
    await eventually(
      () => expect(logLines).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/dependency is unavailable; retrying/) })),
      10_000,
    );
    await status(id, 'proposed');
    expect(effects(id)).toBe(0);
    expect(logLines).toContainEqual(expect.objectContaining({ level: 50, msg: expect.stringMatching(/flag source failed/) }));
    // The agent reads why its proposal waits.
    await eventually(
      async () =>
        expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body).toMatchObject({
          status: 'proposed',
          waiting: expect.stringMatching(/^the policy engine cannot read its feature flags \(since .*\): nothing is decided while it cannot/),
        }),
      10_000,
    );

    saveByRename(good);
    await flagReads('on');
    await status(id, 'executed');
    expect(effects(id)).toBe(1);
    expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body.waiting).toBeUndefined();
    await eventually(() =>
      expect(
        audited()
          .filter((e) => e.eventType === TOPICS.flagSourceHealthChanged)
          .map((e) => e.data),
      ).toEqual([
        expect.objectContaining({ status: 'failed', failClosed: true, reason: expect.stringMatching(/invalid/) }),
        expect.objectContaining({ status: 'recovered', failClosed: false }),
      ]),
    );
    const after = await propose();
    await status(after, 'executed');
  });
});
