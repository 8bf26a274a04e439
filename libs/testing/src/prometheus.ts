import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './distributed';

export interface PrometheusOptions {
  /** Where the configuration, the TSDB and the log go (one directory per run). */
  dir: string;
  /** The scrape job's targets, `127.0.0.1:<port>` each; the job is named `countersign`, as infra/prometheus/rules.yml expects. */
  targets: string[];
  /** A file holding the bearer token with the `metrics` role (a test run's `tokens/metrics`). */
  bearerTokenFile: string;
  /** Rule files to load (e.g. infra/prometheus/rules.yml), evaluated every scrape interval. */
  ruleFiles?: string[];
  /** Scrape (and rule evaluation) interval in seconds; default 1. */
  intervalSeconds?: number;
  /** The targets serve HTTPS: scraped with `scheme: https`, trusting this root (PEM file) and nothing else. */
  caFile?: string;
}

/** One sample of an instant vector from the HTTP API. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface RunningPrometheus {
  url: string;
  logFile: string;
  process: ChildProcess;
  /** An instant query through `GET /api/v1/query`; throws unless Prometheus answers `success` with a vector. */
  query(promql: string): Promise<PromSample[]>;
  /** GET one of the API's JSON resources (`/api/v1/targets`, `/api/v1/rules`, …) and return its `data`. */
  api<T = unknown>(path: string): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Starts Debian's `prometheus` (installed by infra/stack.sh) on 127.0.0.1 and a free port, with its TSDB under `dir`,
 * scraping `targets` with the bearer token; waits until `/-/ready` answers 200. A new target's first sample takes a
 * few seconds (Prometheus spreads the first scrapes over the interval and evaluates rules on its own clock): wait for
 * conditions, never for a fixed time.
 */
export async function startPrometheus(o: PrometheusOptions): Promise<RunningPrometheus> {
  mkdirSync(join(o.dir, 'data'), { recursive: true });
  if (!existsSync(o.bearerTokenFile) || !readFileSync(o.bearerTokenFile, 'utf8').trim()) throw new Error(`no bearer token in ${o.bearerTokenFile}`);
  const interval = `${o.intervalSeconds ?? 1}s`;
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: o.ruleFiles ?? [],
    scrape_configs: [
      {
        job_name: 'countersign',
        metrics_path: '/metrics',
        authorization: { type: 'Bearer', credentials_file: o.bearerTokenFile },
        ...(o.caFile && { scheme: 'https', tls_config: { ca_file: o.caFile, min_version: 'TLS12' } }),
        static_configs: [{ targets: o.targets }],
      },
    ],
  };
  const configFile = join(o.dir, 'prometheus.yml');
  writeFileSync(configFile, stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(o.dir, 'prometheus.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(
    'prometheus',
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(o.dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { cwd: o.dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const spawned = new Promise<Error | undefined>((r) => {
    child.once('spawn', () => r(undefined));
    child.once('error', (e) => r(e));
  });
  const failed = await spawned;
  if (failed) throw new Error(`cannot run prometheus (${failed.message}): run 'bash infra/stack.sh up', which installs Debian's package`);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    const dead = await Promise.race([exited, new Promise((r) => setTimeout(() => r('alive'), 200))]);
    const tail = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '');
    if (dead !== 'alive') throw new Error(`prometheus exited with code ${dead} before it was ready:\n${tail()}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready within 30 s:\n${tail()}`);
    }
  }

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data?: T; error?: string };
    if (res.status !== 200 || body.status !== 'success') throw new Error(`GET ${path} answered ${res.status}: ${body.error ?? JSON.stringify(body)}`);
    return body.data as T;
  };
  const query = async (promql: string): Promise<PromSample[]> => {
    const data = await api<{ resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
      `/api/v1/query?query=${encodeURIComponent(promql)}`,
    );
    if (data.resultType !== 'vector') throw new Error(`${promql} is a ${data.resultType}, not an instant vector`);
    return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  return { url, logFile, process: child, query, api, stop };
}
