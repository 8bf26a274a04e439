import { mkdirSync } from 'node:fs';
import { Unleash } from 'unleash-client';
import type { FlagContext, FlagHealthListener, FlagReader, FlagState } from './flag-reader';
import { safeListener } from './safe-listener';

/** How long one fetch from Unleash may take before unleash-client gives up on it. */
const REQUEST_TIMEOUT_MS = 2_000;

/** A FlagReader over one unleash-client instance (a server's, or one bootstrapped from a file). */
export class UnleashReader implements FlagReader {
  constructor(
    protected client: Unleash,
    private readonly stop: () => void = () => undefined,
    /** Where the flags come from, for `notLoadedReason`. */
    private readonly source = 'the flag source',
  ) {}

  state(name: string, context: FlagContext = {}): FlagState {
    if (!this.client.getFeatureToggleDefinition(name)) return 'unknown';
    return this.client.isEnabled(name, { properties: { ...context } as Record<string, string> }) ? 'on' : 'off';
  }

  variant(name: string, context: FlagContext = {}): string | undefined {
    if (!this.client.getFeatureToggleDefinition(name)) return undefined;
    const v = this.client.getVariant(name, { properties: { ...context } as Record<string, string> });
    return v.enabled ? v.name : undefined;
  }

  loaded(): boolean {
    return this.client.isSynchronized() || !!(this.client as unknown as { repository?: { ready?: boolean } }).repository?.ready;
  }

  notLoadedReason(): string | undefined {
    return this.loaded() ? undefined : `no flag data yet: ${this.source} has not answered and there is no backup`;
  }

  ready(timeoutMs = 10_000): Promise<boolean> {
    if (this.loaded()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.client.once('ready', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async close(): Promise<void> {
    this.stop();
    quietDestroy(this.client);
  }
}

/**
 * unleash-client's destroy() removes the repository's listeners, but a fetch already in flight can still
 * fail and emit 'error' there; unheard, an EventEmitter error crashes the process.
 */
function quietDestroy(client: Unleash): void {
  client.destroy();
  (client as unknown as { repository?: { on(e: string, f: () => void): void } }).repository?.on('error', () => undefined);
  client.on('error', () => undefined);
}

export interface UnleashFlagOptions {
  url: string;
  clientToken: string;
  appName: string;
  /** How often flags are fetched; kill switches take effect within this interval. */
  refreshIntervalMs?: number;
  /** Where the last known flags are kept, so a restart while Unleash is down still has them. */
  backupDir: string;
  environment?: string;
  /** Told when the server cannot be read (the last known values are served meanwhile) and when it answers again. */
  onHealth?: FlagHealthListener;
}

/**
 * Flags from a real Unleash server. When the server becomes unreachable, unleash-client keeps serving the
 * last values it fetched (and its backup file after a restart); a flag it has never seen reads `unknown`.
 */
export function createUnleashFlagReader(o: UnleashFlagOptions): FlagReader {
  mkdirSync(o.backupDir, { recursive: true });
  const client = new Unleash({
    appName: o.appName,
    url: o.url,
    environment: o.environment,
    customHeaders: { Authorization: o.clientToken },
    refreshInterval: o.refreshIntervalMs ?? 1_000,
    disableMetrics: true,
    backupPath: o.backupDir,
    skipInstanceCountWarning: true,
    timeout: REQUEST_TIMEOUT_MS,
  });
  if (!o.onHealth) {
    client.on('error', () => undefined); // unreachable server: keep the last known values (see above)
    client.on('warn', () => undefined);
    return new UnleashReader(client, undefined, `Unleash at ${o.url}`);
  }
  return new UnleashReader(client, watchHealth(client, o.url, o.refreshIntervalMs ?? 1_000, o.onHealth), `Unleash at ${o.url}`);
}

/**
 * Reports an Unleash server that has not answered for three refresh intervals plus one request timeout
 * (unleash-client reports a dropped connection or a 5xx as a warning, others as errors: silence is what
 * counts; a slow answer still in flight is not silence), once, and the next answer. Returns what stops
 * the watch.
 */
function watchHealth(client: Unleash, url: string, refreshMs: number, onHealth: FlagHealthListener): () => void {
  let answeredAt = Date.now();
  let problem = 'no answer';
  let failing = false;
  const tell = safeListener(onHealth);
  const answered = () => {
    answeredAt = Date.now();
    if (!failing) return;
    failing = false;
    tell({ status: 'recovered', flagSource: url, reason: 'Unleash answers again', failClosed: false });
  };
  for (const e of ['changed', 'unchanged', 'synchronized']) client.on(e, answered);
  for (const e of ['error', 'warn']) client.on(e, (m: unknown) => void (problem = String((m as Error)?.message ?? m).slice(0, 500)));
  const timer = setInterval(() => {
    if (failing || Date.now() - answeredAt <= 3 * refreshMs + REQUEST_TIMEOUT_MS) return;
    failing = true;
    tell({
      status: 'failed',
      flagSource: url,
      reason: `Unleash has not answered for ${Date.now() - answeredAt} ms (${problem}): serving the last known values`,
      failClosed: false,
    });
  }, refreshMs);
  timer.unref();
  return () => clearInterval(timer);
}
