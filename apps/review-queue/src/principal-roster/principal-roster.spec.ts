import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@countersign/logging';
import { DEFAULT_PRINCIPALS, loadTokenRegistry, readTokensFile, TokenEntry, watchTokensFile, writeTokens } from '@countersign/nest';
import { eventually } from '@countersign/testing';
import { InMemoryPrincipalRoster } from './in-memory-principal-roster';
import { keepRemovals, PrincipalRoster } from './principal-roster';

// real: a tokens file on disk, its registry and watch (looked at by `check`), the in-memory roster; fake: a roster that
// refuses its first records (a database away), around the real one.
describe('keepRemovals: who was taken out of the tokens file, known across restarts', () => {
  const logger = createLogger('principal-roster-spec', { level: 'silent' });
  const setup = () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-'));
    const { tokensFile } = writeTokens(dir, DEFAULT_PRINCIPALS);
    const entries = () => JSON.parse(readFileSync(tokensFile, 'utf8')) as TokenEntry[];
    const save = (list: TokenEntry[]) => {
      writeFileSync(`${tokensFile}.new`, JSON.stringify(list));
      renameSync(`${tokensFile}.new`, tokensFile);
    };
    /** A process: the registry as it loads the file, and its watch. */
    const boot = () => {
      const tokens = loadTokenRegistry(tokensFile);
      const watch = watchTokensFile(tokens, { file: tokensFile, read: () => readTokensFile(tokensFile), logger, everyMs: 3_600_000 });
      return { tokens, watch };
    };
    return { entries, save, boot };
  };

  it('takes those the roster knows and the file lacks as removed at start, and records each reload for the next start', async () => {
    const { entries, save, boot } = setup();
    const roster = new InMemoryPrincipalRoster();
    const first = boot();
    const kept = await keepRemovals(first.tokens, first.watch, roster, { logger });
    expect(first.tokens.wasRemoved('alice')).toBe(false);
    // A reload while it runs: in memory at once, and in the roster.
    save(entries().filter((e) => e.principal !== 'alice'));
    first.watch.check();
    expect(first.tokens.wasRemoved('alice')).toBe(true);
    await eventually(async () => expect(await roster.reconcile(first.tokens.principals())).toEqual(['alice']));
    kept.stop();
    first.watch.stop();

    // Stopped; bob is taken out meanwhile. The next process knows both, and neither is counted.
    save(entries().filter((e) => e.principal !== 'bob'));
    const second = boot();
    expect(second.tokens.wasRemoved('alice')).toBe(false);
    const keptAgain = await keepRemovals(second.tokens, second.watch, roster, { logger });
    expect(['alice', 'bob', 'carol'].map((id) => second.tokens.wasRemoved(id))).toEqual([true, true, false]);
    keptAgain.stop();
    second.watch.stop();
  });

  it('retries a record the roster did not take, with who was added and removed meanwhile, and the removal holds in memory', async () => {
    const { entries, save, boot } = setup();
    const real = new InMemoryPrincipalRoster();
    let refusals = 0;
    const flaky: PrincipalRoster = {
      reconcile: async (present, seen) => {
        if (refusals > 0) {
          refusals--;
          throw new Error('connection terminated');
        }
        return real.reconcile(present, seen);
      },
    };
    const { tokens, watch } = boot();
    const kept = await keepRemovals(tokens, watch, flaky, { logger, retryMs: 5 });
    refusals = 2;
    // mallory is added, then taken out again, while the roster takes nothing.
    const withMallory = [...entries(), { ...entries().find((e) => e.principal === 'alice')!, principal: 'mallory', tokenSha256: 'f'.repeat(64) }];
    save(withMallory);
    watch.check();
    save(withMallory.filter((e) => e.principal !== 'mallory'));
    watch.check();
    expect(tokens.wasRemoved('mallory')).toBe(true);
    await eventually(async () => expect(refusals).toBe(0));
    await eventually(async () => expect(await real.reconcile(tokens.principals())).toEqual(['mallory']));
    kept.stop();
    watch.stop();
  });

  it('stops the start when the roster cannot be read: who was removed cannot be known', async () => {
    const { boot } = setup();
    const { tokens, watch } = boot();
    await expect(keepRemovals(tokens, watch, { reconcile: async () => Promise.reject(new Error('database away')) }, { logger })).rejects.toThrow(
      'database away',
    );
    watch.stop();
  });
});
