import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { testFetch } from './https-client';

const ROOT = join(__dirname, '../../..');

export interface RunningService {
  name: string;
  url: string;
  logFile: string;
  process: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts a service as its own process, exactly as `npm run start:distributed` does, and waits until its
 * /readyz answers 200 (over HTTPS when `env` gives it a certificate). Its JSON log goes to `logDir/<name>.log`.
 *
 * It writes its log to that file itself (the file is its standard output and error), and it holds an IPC channel to
 * this process: when this process goes, however it goes (a launcher or a test worker killed), the channel closes and the
 * service stops cleanly (`runService`), instead of running on as an orphan with the stack's ports, keys and groups.
 */
export async function startServiceProcess(
  app: string,
  env: Record<string, string>,
  opts: {
    port: number;
    logDir: string;
    instance?: string;
    timeoutMs?: number;
    /** What to wait for: `ready` (/readyz 200, the default) or `serving` (/healthz 200: for a service expected not to be ready). */
    until?: 'ready' | 'serving';
  },
): Promise<RunningService> {
  mkdirSync(opts.logDir, { recursive: true });
  const name = opts.instance ?? app;
  const logFile = join(opts.logDir, `${name}.log`);
  const log = openSync(logFile, 'a');
  // SERVICE_NODE_ARGS: extra node flags for the services, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile a bench.
  const extra = (process.env.SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // The stack's admin sign-in to Kafka (in this process's environment, from .stack/stack.env) is a service's only when
  // `env` gives it: a service on the SSL listener signs in with its certificate, and must not try a password there.
  const { KAFKA_SASL_USERNAME: _user, KAFKA_SASL_PASSWORD_FILE: _password, ...inherited } = process.env;
  const child = spawn(process.execPath, [...extra, '-r', join(ROOT, 'tools/register.js'), join(ROOT, 'apps', app, 'src/main.ts')], {
    cwd: ROOT,
    env: {
      ...inherited,
      ...env,
      PORT: String(opts.port),
      HOST: '127.0.0.1',
      SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
    },
    stdio: ['ignore', log, log, 'ipc'],
  });
  // The child has its own copy of the descriptor.
  closeSync(log);
  // Neither the channel nor the child keeps this process alive: its caller stops it, or it stops when this process goes.
  child.channel?.unref();
  // A service given a certificate (HTTP_TLS_*) serves HTTPS only; the probe trusts the stack's root, nothing else.
  const url = `${env.HTTP_TLS_CERT_FILE ? 'https' : 'http'}://127.0.0.1:${opts.port}`;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  for (;;) {
    const ready = await testFetch(`${url}/${opts.until === 'serving' ? 'healthz' : 'readyz'}`).then(
      // The body is read, so that the kept-alive connection is free for the next probe.
      async (r) => (await r.arrayBuffer(), r.status === 200),
      () => false,
    );
    if (ready) break;
    const dead = await Promise.race([exited, new Promise((r) => setTimeout(() => r('alive'), 200))]);
    if (dead !== 'alive') throw new Error(`${name} exited with code ${dead} before it was ready; see ${logFile}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} was not ready within ${(opts.timeoutMs ?? 90_000) / 1000}s; see ${logFile}`);
    }
  }
  return {
    name,
    url,
    logFile,
    process: child,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
