import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TOPICS } from '@countersign/contracts';
import { FlagFile } from '@countersign/flags';
import { createLogger } from '@countersign/logging';
import { call, eventually } from '@countersign/testing';
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

  it('a kill switch turned off by write-then-rename stops refunds, every time the file is saved that way', async () => {
    for (const enabled of [false, true, false]) {
      saveByRename(withRefund(enabled));
      await flagReads(enabled ? 'on' : 'off');
      const id = await propose();
      await status(id, enabled ? 'executed' : 'prohibited');
      expect(effects(id)).toBe(enabled ? 1 : 0);
    }
    saveByRename(withRefund(true));
    await flagReads('on');
  });

  it('an invalid flag file stops execution (not the previous flags), is logged at error and audited; the action waits, is not refused for good, and runs once the file is good', async () => {
    const good = readFileSync(running.flagsFile, 'utf8');
    writeFileSync(running.flagsFile, good.slice(0, good.length / 2)); // a half-written save
    await flagReads('unknown');
    const id = await propose();
    // The policy engine holds it (a transient doubt is retried, never made final): it has tried, and nothing ran.
    await eventually(
      () => expect(logLines).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/dependency is unavailable; retrying/) })),
      10_000,
    );
    await status(id, 'proposed');
    expect(effects(id)).toBe(0);
    expect(logLines).toContainEqual(expect.objectContaining({ level: 50, msg: expect.stringMatching(/flag source failed/) }));

    saveByRename(good);
    await flagReads('on');
    await status(id, 'executed');
    expect(effects(id)).toBe(1);
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
