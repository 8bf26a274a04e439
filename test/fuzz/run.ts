/**
 * `npm run fuzz`: the fuzz properties at scale (default 100,000 engine cases and 10,000 HTTP requests;
 * FUZZ_RUNS, FUZZ_API_RUNS, FUZZ_SEED). Prints the counts; exits 1 with the counterexample on a failure.
 */
import { createProgress } from '@countersign/logging';
import { fuzzApi } from './api.property';
import { fuzzEngine } from './engine.property';

const runs = Number(process.env.FUZZ_RUNS ?? 100_000);
const apiRuns = Number(process.env.FUZZ_API_RUNS ?? 10_000);
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;

void (async () => {
  console.log(`fuzz: seed ${seed} (FUZZ_SEED=${seed} repeats this run)`);
  let started = Date.now();
  // On a terminal, the cases run so far (stderr; nothing when piped or in CI).
  const engineProgress = createProgress('fuzz: engine cases');
  const engine = await Promise.resolve()
    .then(() => fuzzEngine(runs, seed, (n) => engineProgress.update(n, runs)))
    .finally(() => engineProgress.finish());
  console.log(`fuzz: engine ${engine.cases} cases (${engine.invalid} invalid), 0 failures, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  started = Date.now();
  const apiProgress = createProgress('fuzz: api requests');
  const api = await fuzzApi(apiRuns, seed, (n) => apiProgress.update(n, apiRuns)).finally(() => apiProgress.finish());
  console.log(
    `fuzz: api ${api.requests} requests (${Object.entries(api.byStatus)
      .map(([s, c]) => `${s}: ${c}`)
      .join(', ')}), ${api.accepted} accepted, ${api.executed} executed, 0 failures, ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  console.log(`fuzz: ${engine.cases + api.requests} cases in all, 0 failed`);
})().catch((e) => {
  console.error(`fuzz: FAILED: ${(e as Error).message}`);
  process.exit(1);
});
