import { readFileSync, watch, FSWatcher, mkdirSync } from 'node:fs';
import { Unleash, InMemStorageProvider } from 'unleash-client';

/** A flag's state as Countersign reads it: `unknown` (never seen, or no data yet) always fails closed. */
export type FlagState = 'on' | 'off' | 'unknown';

export interface FlagContext {
  tenant?: string;
  region?: string;
  actionType?: string;
}

/** The flags port: kill switches and autonomy levels, read synchronously on the hot path. */
export interface FlagReader {
  state(name: string, context?: FlagContext): FlagState;
  /** The variant name for a flag (autonomy levels), or undefined when off or unknown. */
  variant(name: string, context?: FlagContext): string | undefined;
  /** Resolves once flag data is loaded (from the server, a backup, or the bootstrap file). */
  ready(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The kill-switch flag of an action type: on means the executor may execute it. */
export const executionFlagName = (prefix: string, actionType: string) => `${prefix}${actionType}`;

class UnleashReader implements FlagReader {
  constructor(protected client: Unleash) {}

  state(name: string, context: FlagContext = {}): FlagState {
    if (!this.client.getFeatureToggleDefinition(name)) return 'unknown';
    return this.client.isEnabled(name, { properties: { ...context } as Record<string, string> }) ? 'on' : 'off';
  }

  variant(name: string, context: FlagContext = {}): string | undefined {
    if (!this.client.getFeatureToggleDefinition(name)) return undefined;
    const v = this.client.getVariant(name, { properties: { ...context } as Record<string, string> });
    return v.enabled ? v.name : undefined;
  }

  ready(timeoutMs = 10_000): Promise<boolean> {
    if (this.client.isSynchronized() || (this.client as unknown as { repository: { ready: boolean } }).repository?.ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.client.once('ready', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async close(): Promise<void> {
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
    timeout: 2_000,
  });
  client.on('error', () => undefined); // unreachable server: keep the last known values (see above)
  client.on('warn', () => undefined);
  return new UnleashReader(client);
}

/** The local flag file of the embedded mode: the `features` array of Unleash's client API format. */
export interface FlagFile {
  features: Array<{ name: string; enabled: boolean; strategies?: unknown[]; variants?: unknown[] }>;
}

/**
 * Flags from a local file, served by unleash-client bootstrapped with it (no server, no polling).
 * The file is watched: editing it flips kill switches in a running embedded instance.
 */
export function createFileFlagReader(path: string, appName = 'countersign-embedded'): FlagReader {
  const make = () => {
    const data = (JSON.parse(readFileSync(path, 'utf8')) as FlagFile).features.map((f) => ({
      strategies: [{ name: 'default', parameters: {}, constraints: [] }],
      ...f,
    }));
    const client = new Unleash({
      appName,
      url: 'http://127.0.0.1:9/never-fetched',
      refreshInterval: 0,
      disableMetrics: true,
      storageProvider: new InMemStorageProvider(),
      bootstrap: { data: data as never },
      skipInstanceCountWarning: true,
    });
    client.on('error', () => undefined);
    client.on('warn', () => undefined);
    return client;
  };
  const reader = new (class extends UnleashReader {
    watcher?: FSWatcher;
    override async close() {
      this.watcher?.close();
      await super.close();
    }
  })(make());
  reader.watcher = watch(path, { persistent: false }, () => {
    try {
      const next = make();
      const previous = reader['client'];
      reader['client'] = next;
      quietDestroy(previous);
    } catch {
      // A half-written or invalid file keeps the previous flags.
    }
  });
  return reader;
}
