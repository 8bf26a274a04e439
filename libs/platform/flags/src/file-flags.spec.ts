import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flagsSuite } from './flags.suite';
import { createFileFlagReader, FlagFile, FlagReader, FlagSourceHealth, parseFlagFile, readFlagFile } from './index';

// real: unleash-client bootstrapped from a local file, the file system and its watch; fake: nothing.
const toFile = (spec: Record<string, { enabled: boolean; variant?: string }>): FlagFile => ({
  features: Object.entries(spec).map(([name, f]) => ({
    name,
    enabled: f.enabled,
    ...(f.variant ? { variants: [{ name: f.variant, weight: 1000, stickiness: 'default', weightType: 'variable' }] } : {}),
  })),
});
const json = (spec: Record<string, { enabled: boolean }>) => JSON.stringify(toFile(spec));

flagsSuite('file', async (spec) => {
  const path = join(mkdtempSync(join(tmpdir(), 'flags-')), 'flags.json');
  writeFileSync(path, JSON.stringify(toFile(spec)));
  return createFileFlagReader(path);
});

/** Waits (bounded) until the reader answers `expected` for `name`; a watcher that never fires fails here. */
async function until(reader: FlagReader, name: string, expected: string, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (reader.state(name) !== expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  return reader.state(name);
}

describe('file flags', () => {
  let dir: string;
  let path: string;
  let health: FlagSourceHealth[];
  let reader: FlagReader;
  // The periodic re-check is pushed out of the tests' reach where they prove the directory watch.
  const open = (recheckMs = 60_000) => (reader = createFileFlagReader(path, { onHealth: (h) => health.push(h), recheckMs }));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flags-'));
    path = join(dir, 'flags.json');
    health = [];
  });
  afterEach(() => reader?.close());

  it('follow edits of the file in a running process', async () => {
    writeFileSync(path, json({ 'exec.a': { enabled: true } }));
    open();
    await reader.ready();
    expect(reader.state('exec.a')).toBe('on');
    writeFileSync(path, json({ 'exec.a': { enabled: false } }));
    expect(await until(reader, 'exec.a', 'off')).toBe('off');
  });

  it('follow a file replaced by write-then-rename (as sed -i and editors save): the kill switch turns off', async () => {
    writeFileSync(path, json({ 'countersign.exec.support.refund': { enabled: true } }));
    open();
    await reader.ready();
    expect(reader.state('countersign.exec.support.refund')).toBe('on');
    for (const enabled of [false, true, false]) {
      const temp = join(dir, `.flags.json.${enabled}.tmp`);
      writeFileSync(temp, json({ 'countersign.exec.support.refund': { enabled } }));
      renameSync(temp, path); // a new inode under the old name, every time
      expect(await until(reader, 'countersign.exec.support.refund', enabled ? 'on' : 'off')).toBe(enabled ? 'on' : 'off');
    }
    expect(health).toEqual([]);
  });

  it('catch a change the watch missed with the periodic re-check', async () => {
    writeFileSync(path, json({ 'exec.a': { enabled: true } }));
    open(100);
    await reader.ready();
    (reader as unknown as { watcher?: { close(): void } }).watcher?.close(); // the watch is gone: only the re-check can see
    writeFileSync(path, json({ 'exec.a': { enabled: false } }));
    expect(await until(reader, 'exec.a', 'off')).toBe('off');
  });

  it('an invalid file makes every flag read unknown (kill switches fail closed, not the previous flags), reports it, and recovers', async () => {
    writeFileSync(path, json({ 'countersign.exec.support.refund': { enabled: true } }));
    open();
    await reader.ready();
    writeFileSync(path, '{"features": [{"name": "countersign.exec.support.refund", "enabled": tru');
    expect(await until(reader, 'countersign.exec.support.refund', 'unknown')).toBe('unknown');
    expect(reader.variant('countersign.exec.support.refund')).toBeUndefined();
    expect(await reader.ready(50)).toBe(false);
    expect(health).toEqual([{ status: 'failed', flagSource: path, failClosed: true, reason: expect.stringMatching(/is invalid: not valid JSON/) }]);

    writeFileSync(path, json({ 'countersign.exec.support.refund': { enabled: true } }));
    expect(await until(reader, 'countersign.exec.support.refund', 'on')).toBe('on');
    expect(health.map((h) => h.status)).toEqual(['failed', 'recovered']);
    expect(health[1]).toMatchObject({ failClosed: false, reason: expect.stringMatching(/valid again/) });
  });

  it('a file that is valid JSON but not a flag file fails closed too, and is reported once however often it is re-read', async () => {
    writeFileSync(path, json({ 'exec.a': { enabled: true } }));
    open(50);
    await reader.ready();
    writeFileSync(path, JSON.stringify({ features: [{ name: 'exec.a', enabled: 'yes' }] }));
    expect(await until(reader, 'exec.a', 'unknown')).toBe('unknown');
    await new Promise((r) => setTimeout(r, 300)); // six re-checks of the same bad content
    expect(health).toEqual([expect.objectContaining({ status: 'failed', reason: expect.stringMatching(/features\.0\.enabled/) })]);
  });

  it('a deleted file fails closed, and a file put back by rename recovers', async () => {
    writeFileSync(path, json({ 'exec.a': { enabled: true } }));
    open();
    await reader.ready();
    rmSync(path);
    expect(await until(reader, 'exec.a', 'unknown')).toBe('unknown');
    expect(health).toEqual([expect.objectContaining({ status: 'failed', reason: expect.stringMatching(/cannot read .*ENOENT/) })]);
    writeFileSync(join(dir, 'next'), json({ 'exec.a': { enabled: false } }));
    renameSync(join(dir, 'next'), path);
    expect(await until(reader, 'exec.a', 'off')).toBe('off');
    expect(health.map((h) => h.status)).toEqual(['failed', 'recovered']);
  });

  it('a named pipe in place of the file fails closed at once instead of blocking the process (red team, 2026-12-04)', async () => {
    writeFileSync(path, json({ 'exec.a': { enabled: true } }));
    open(50);
    await reader.ready();
    rmSync(path);
    execFileSync('mkfifo', [path]);
    // The process goes on (this test's own timers run) and every flag reads unknown.
    expect(await until(reader, 'exec.a', 'unknown')).toBe('unknown');
    expect(health).toEqual([expect.objectContaining({ status: 'failed', reason: expect.stringMatching(/cannot read .*ENOTREG/) })]);
    expect(() => readFlagFile(path)).toThrow(/is not a regular file/);
    rmSync(path);
    writeFileSync(path, json({ 'exec.a': { enabled: false } }));
    expect(await until(reader, 'exec.a', 'off')).toBe('off');
  });

  it('a file emptied of flags reads every flag unknown at once, not the previous flags until a load times out (red team, 2026-12-04)', async () => {
    writeFileSync(path, json({ 'exec.a': { enabled: true } }));
    open();
    await reader.ready();
    writeFileSync(path, '{"features": []}');
    // Within 4 s: the old reader kept serving until the new one's 5-s load timed out.
    expect(await until(reader, 'exec.a', 'unknown', 4_000)).toBe('unknown');
    expect(health).toEqual([expect.objectContaining({ status: 'failed', reason: expect.stringMatching(/defines no flags/) })]);
  });

  it('says where a file is not JSON without quoting it: the file may hold anything, and the reason is logged and audited', async () => {
    writeFileSync(path, json({ 'exec.a': { enabled: true } }));
    open();
    await reader.ready();
    writeFileSync(path, 'cs_admin_9f8e7d6c5b4a39281706');
    expect(await until(reader, 'exec.a', 'unknown')).toBe('unknown');
    expect(health).toEqual([expect.objectContaining({ status: 'failed', reason: expect.stringMatching(/is invalid: not valid JSON/) })]);
    expect(health[0].reason).not.toMatch(/cs_admin/);
    expect(() => parseFlagFile('{"features": [')).toThrow(/^not valid JSON \(it ends early\)$/);
  });

  it('a reader started on an invalid file is never ready, reads every flag unknown and reports it', async () => {
    writeFileSync(path, 'not json');
    open();
    expect(await reader.ready(100)).toBe(false);
    expect(reader.state('exec.a')).toBe('unknown');
    expect(health).toEqual([expect.objectContaining({ status: 'failed' })]);
  });
});

describe('parseFlagFile', () => {
  it('refuses a flag defined twice, a wrong type and a missing features array', () => {
    expect(() =>
      parseFlagFile(
        JSON.stringify({
          features: [
            { name: 'a', enabled: true },
            { name: 'a', enabled: false },
          ],
        }),
      ),
    ).toThrow(/defined twice/);
    expect(() => parseFlagFile(JSON.stringify({ features: [{ name: 'a', enabled: 1 }] }))).toThrow(/features\.0\.enabled/);
    expect(() => parseFlagFile('{}')).toThrow(/features/);
  });

  it("refuses a misspelt top-level key, which held a switch turned off that nothing read (red team, 2026-12-07), and keeps Unleash's own", () => {
    const off = [{ name: 'exec.a', enabled: false }];
    expect(() => parseFlagFile(JSON.stringify({ features: [{ name: 'exec.a', enabled: true }], featrues: off }))).toThrow(/featrues/);
    expect(parseFlagFile(JSON.stringify({ version: 2, features: off, segments: [], query: {}, meta: {} })).features).toEqual(off);
  });

  it('refuses a file over 1 MiB before reading it (red team, 2026-12-07: 200 MB read every second held the process)', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'flags-')), 'flags.json');
    writeFileSync(path, JSON.stringify({ meta: 'x'.repeat(1024 * 1024), features: [{ name: 'exec.a', enabled: true }] }));
    expect(() => readFlagFile(path)).toThrow(/^too large: \d+ bytes, over the 1048576-byte limit$/);
  });

  it('refuses a key written twice in one entry, which JSON.parse read as its last value, and names a byte-order mark (config probe, 2026-12-05)', () => {
    // The kill switch read as on, the file as healthy.
    expect(() => parseFlagFile('{"features": [{"name": "exec.a", "enabled": false, "enabled": true}]}')).toThrow(
      /^not valid: duplicate key "enabled" in the object at \/features\/0$/,
    );
    expect(() => parseFlagFile('\ufeff{"features": []}')).toThrow(/starts with a byte-order mark/);
    // A near-miss of a key beside the real one was dropped, the switch reading on (red team, 2026-12-05).
    expect(() => parseFlagFile('{"features": [{"name": "exec.a", "enabled": true, "enabled ": false}]}')).toThrow(/features\.0/);
    expect(() => parseFlagFile('{"features": [{"name": "exec.a", "enabled": true, "Enabled": false}]}')).toThrow(/features\.0/);
    // Unleash's own fields (an export) are read as they are.
    expect(
      parseFlagFile('{"features": [{"name": "exec.a", "enabled": true, "type": "kill-switch", "project": "default", "stale": false}]}').features,
    ).toHaveLength(1);
    expect(parseFlagFile('{"features": [{"name": "exec.a", "enabled": true}]}').features).toEqual([{ name: 'exec.a', enabled: true }]);
  });
});
