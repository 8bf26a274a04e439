import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flagsContract } from './flags.contract';
import { createFileFlagReader, FlagFile } from './index';

// real: unleash-client bootstrapped from a local file; fake: nothing.
const toFile = (spec: Record<string, { enabled: boolean; variant?: string }>): FlagFile => ({
  features: Object.entries(spec).map(([name, f]) => ({
    name,
    enabled: f.enabled,
    ...(f.variant ? { variants: [{ name: f.variant, weight: 1000, stickiness: 'default', weightType: 'variable' }] } : {}),
  })),
});

flagsContract('file', async (spec) => {
  const path = join(mkdtempSync(join(tmpdir(), 'flags-')), 'flags.json');
  writeFileSync(path, JSON.stringify(toFile(spec)));
  return createFileFlagReader(path);
});

describe('file flags', () => {
  it('follow edits of the file in a running process', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'flags-')), 'flags.json');
    writeFileSync(path, JSON.stringify(toFile({ 'exec.a': { enabled: true } })));
    const reader = createFileFlagReader(path);
    await reader.ready();
    expect(reader.state('exec.a')).toBe('on');
    writeFileSync(path, JSON.stringify(toFile({ 'exec.a': { enabled: false } })));
    const deadline = Date.now() + 5_000;
    while (reader.state('exec.a') !== 'off' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(reader.state('exec.a')).toBe('off');
    await reader.close();
  });
});
