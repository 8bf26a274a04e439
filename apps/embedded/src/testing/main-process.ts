import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** What the embedded mode's main printed, and how it exited. */
export interface MainRun {
  code: number | null;
  output: string;
}

const ROOT = join(__dirname, '../../../..');

/**
 * Starts the embedded mode's main as an operator does (a Node process, its settings in the environment, `PORT=0`,
 * warnings and above) and returns what it printed when it exits, or, once it printed `stopOn`, after a SIGTERM. A process
 * that hangs past `guardMs` is killed (red team: `COUNTERSIGN_HOME=/proc/x` printed nothing, for ever), so the test fails
 * instead of the run.
 */
export function startMain(env: Record<string, string>, stopOn?: RegExp, guardMs = 120_000): Promise<MainRun> {
  const child = spawn(process.execPath, ['-r', './tools/register.js', 'apps/embedded/src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stopped = false;
  const collect = (d: Buffer) => {
    output += d;
    // Once: a second signal is "stop at once" (exit 1), not a clean stop.
    if (!stopped && stopOn?.test(output)) stopped = child.kill('SIGTERM');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const guard = setTimeout(() => child.kill('SIGKILL'), guardMs);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, output });
    }),
  );
}
