import { performance } from 'node:perf_hooks';

/**
 * How much longer `read` takes on a text eight times as long: `make(n)` against `make(n / 8)`, each the fastest of three
 * runs, the shorter one counted as at least 1 ms (below that the timer and the JIT decide, not the algorithm).
 *
 * A reading in linear time grows about 8×, one that backtracks quadratically 64× (an exponential one never ends). Both
 * sizes are measured in the same process a moment apart, so the figure holds on a fast machine and a busy one alike; a
 * fixed bound in milliseconds did not (one text took 175 ms here and 595 ms on a busy CI machine, 2026-12-07).
 */
export function growthOnEightfoldText(make: (n: number) => string, n: number, read: (text: string) => unknown): number {
  const part = make(Math.ceil(n / 8));
  const whole = make(n);
  read(part); // warm the code up before anything is measured
  return fastestOfThree(whole, read) / Math.max(fastestOfThree(part, read), 1);
}

function fastestOfThree(text: string, read: (text: string) => unknown): number {
  let fastest = Infinity;
  for (let i = 0; i < 3; i += 1) {
    const started = performance.now();
    read(text);
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest;
}
