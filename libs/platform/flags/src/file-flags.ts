import { FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { z } from 'zod';
import { readRegularFile } from '@countersign/config';
import { describeIssues, MAX_JSON_BYTES, parseStrictJson } from '@countersign/contracts';
import type { FlagContext, FlagHealthListener, FlagReader, FlagSourceHealth, FlagState } from './flag-reader';
import { safeListener } from './safe-listener';
import { UnleashReader } from './unleash-flags';

/** The local flag file of the embedded mode: the `features` array of Unleash's client API format. */
export interface FlagFile {
  features: Array<{ name: string; enabled: boolean; strategies?: unknown[]; variants?: unknown[] }>;
}

/** The other fields of a feature in Unleash's client API format (what an export holds): read, not used. */
const UNLEASH_FEATURE_FIELDS = ['type', 'description', 'project', 'stale', 'impressionData', 'dependencies', 'createdAt', 'lastSeenAt'] as const;

// Strict at the top too, with the other top-level fields of Unleash's client format (what an export holds): a misspelt
// `featrues` holding a kill switch turned off was dropped, and the switch read on (red team, 2026-12-07).
const FlagFileSchema = z.strictObject({
  version: z.unknown().optional(),
  segments: z.unknown().optional(),
  query: z.unknown().optional(),
  meta: z.unknown().optional(),
  features: z
    .array(
      // Strict, with the other fields of Unleash's client format allowed as they are: `"enabled ": false` or `"Enabled":
      // false` beside `"enabled": true` was dropped, and the switch read on (red team, 2026-12-05).
      z.strictObject({
        name: z.string().min(1),
        enabled: z.boolean(),
        strategies: z.array(z.record(z.string(), z.unknown())).optional(),
        variants: z.array(z.looseObject({ name: z.string().min(1), weight: z.number() })).optional(),
        ...Object.fromEntries(UNLEASH_FEATURE_FIELDS.map((k) => [k, z.unknown().optional()])),
      }),
    )
    // Two entries for one flag: which one counts is a doubt, and a doubt fails closed.
    .refine((fs) => new Set(fs.map((f) => f.name)).size === fs.length, 'a flag is defined twice'),
});

/**
 * Parses a flag file's text, or throws one line saying what is wrong. Read strictly (the project's one JSON parser): with
 * `JSON.parse` a key written twice in one entry counted once, the last one, so `"enabled": false` above `"enabled": true`
 * left a kill switch on that its reader saw off, and the file read as healthy (config probe, 2026-12-05).
 */
export function parseFlagFile(text: string): FlagFile {
  // An editor's byte-order mark: said as such, not as a mystery at character 0.
  if (text.charCodeAt(0) === 0xfeff) throw new Error('not valid JSON: it starts with a byte-order mark (save it as UTF-8 without one)');
  const read = parseStrictJson(text);
  if (!read.ok) {
    // Where it broke, and the keys of a doubled or forbidden key, but never the text itself: the file may be anything (a
    // token, a key) and the reason goes to the log, the audit trail and API answers.
    if (read.problem === 'duplicate-key' || read.problem === 'forbidden-key' || read.problem === 'too-deep') throw new Error(`not valid: ${read.message}`);
    if (read.problem === 'too-large') throw new Error(`too large: ${read.message}`);
    const at = /position (\d+)/.exec(read.message)?.[1];
    throw new Error(at ? `not valid JSON (at character ${at})` : /end of input/.test(read.message) ? 'not valid JSON (it ends early)' : 'not valid JSON');
  }
  const json = read.value;
  const parsed = FlagFileSchema.safeParse(json);
  if (!parsed.success) throw new Error(describeIssues(parsed.error));
  return parsed.data as FlagFile;
}

/**
 * The flag file's text. Only a regular file is read: a named pipe would block the process on `open` or `read` for good,
 * a device would never end; either is an unreadable flag file (every flag `unknown`), said with the code `ENOTREG`.
 */
export function readFlagFile(path: string): string {
  try {
    // Measured before it is read: a file of 200 MB, read every second and on every change, held the process for seconds
    // at a time (red team, 2026-12-07: /healthz answered after 9–20 s).
    return readRegularFile(path, MAX_JSON_BYTES).toString('utf8');
  } catch (e) {
    const { code, size } = e as NodeJS.ErrnoException & { size?: number };
    if (code !== 'EFBIG') throw e;
    throw new Error(`too large: ${size} bytes, over the ${MAX_JSON_BYTES}-byte limit`);
  }
}

export interface FileFlagOptions {
  appName?: string;
  /** Told when the file becomes unreadable or invalid (every flag then reads `unknown`) and when it is good again. */
  onHealth?: FlagHealthListener;
  /** The safety net beside the directory watch: the file is re-read this often anyway (default 1 s). */
  recheckMs?: number;
}

/** Coalesces the burst of watch events one save makes (truncate + write, or write + rename). */
const SETTLE_MS = 30;

/**
 * Flags from a local file, served by unleash-client bootstrapped with it (no server, no polling).
 *
 * Edits take effect in a running process however they are made: the *directory* is watched (a
 * write-then-rename, as `sed -i` and most editors save, replaces the file's inode, which a watch on the
 * file itself would never see again), and the file is re-read every `recheckMs` in case an event is
 * missed; a re-read whose content is unchanged does nothing. While the file cannot be read or parsed,
 * every flag reads `unknown` — kill switches fail closed instead of keeping the previous flags — and
 * `onHealth` is told; it is told again when a good file is back.
 */
export function createFileFlagReader(path: string, options: FileFlagOptions = {}): FlagReader {
  return new FileFlagReader(path, options);
}

class FileFlagReader implements FlagReader {
  /** The flags of the last good file; served only while the source is healthy. */
  private flags?: UnleashReader;
  /** The last text read (good or bad): a re-read of the same text changes nothing. */
  private content?: string;
  /** Why the source is unusable now; undefined while it is healthy. */
  private failure?: string;
  /** Bumped by every new text, so a slow load of an older text never replaces a newer outcome. */
  private generation = 0;
  private closed = false;
  private readonly watcher?: FSWatcher;
  private readonly recheck: NodeJS.Timeout;
  private settle?: NodeJS.Timeout;

  constructor(
    private readonly path: string,
    private readonly options: FileFlagOptions,
  ) {
    this.reload();
    this.watcher = this.watchDirectory();
    this.recheck = setInterval(() => this.reload(), options.recheckMs ?? 1_000);
    this.recheck.unref();
  }

  state(name: string, context?: FlagContext): FlagState {
    if (!this.serving()) return 'unknown';
    try {
      return this.flags!.state(name, context);
    } catch {
      return 'unknown';
    }
  }

  variant(name: string, context?: FlagContext): string | undefined {
    if (!this.serving()) return undefined;
    try {
      return this.flags!.variant(name, context);
    } catch {
      return undefined;
    }
  }

  loaded(): boolean {
    return this.serving();
  }

  notLoadedReason(): string | undefined {
    if (this.serving()) return undefined;
    if (this.closed) return 'the flag reader is closed';
    return this.failure ?? `the flag file ${this.path} is not loaded yet`;
  }

  /** True once a good file is loaded and while it is the current one. */
  async ready(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.serving() && !this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, Math.min(20, timeoutMs)));
    return this.serving();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.recheck);
    clearTimeout(this.settle);
    await this.flags?.close();
  }

  private serving(): boolean {
    return !this.closed && this.failure === undefined && this.flags !== undefined;
  }

  private watchDirectory(): FSWatcher | undefined {
    const name = basename(this.path);
    try {
      const watcher = watch(dirname(this.path), { persistent: false }, (_event, changed) => {
        if (changed && changed.toString() !== name) return;
        clearTimeout(this.settle);
        this.settle = setTimeout(() => this.reload(), SETTLE_MS);
      });
      watcher.on('error', () => watcher.close()); // e.g. the directory went away: the re-check carries on
      return watcher;
    } catch {
      return undefined; // no directory to watch: the re-check reports the file as unreadable
    }
  }

  private reload(): void {
    if (this.closed) return;
    let text: string;
    try {
      text = readFlagFile(this.path);
    } catch (e) {
      this.content = undefined;
      return this.fail(`cannot read the flag file ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (text === this.content) return;
    this.content = text;
    let file: FlagFile;
    try {
      file = parseFlagFile(text);
    } catch (e) {
      return this.fail(`the flag file ${this.path} is invalid: ${(e as Error).message}`);
    }
    // unleash-client never becomes ready on an empty bootstrap: the previous flags would serve until the load timed out
    // (red team, 2026-12-04: a reply ran 0.15 s after the file was emptied). No flags is every flag unknown, at once.
    if (!file.features.length) return this.fail(`the flag file ${this.path} defines no flags`);
    const generation = ++this.generation;
    const next = new UnleashReader(bootstrapped(file, this.options.appName ?? 'countersign-embedded'));
    void next.ready(5_000).then((loaded) => {
      if (generation !== this.generation || this.closed) return void next.close();
      if (!loaded) {
        this.content = undefined; // try this text again at the next re-check
        void next.close();
        return this.fail(`unleash-client did not load the flag file ${this.path}`);
      }
      const previous = this.flags;
      this.flags = next;
      void previous?.close();
      this.recover();
    });
  }

  private fail(reason: string): void {
    this.generation++; // a good text still loading must not override this
    if (this.failure === reason) return;
    this.failure = reason;
    this.tell({ status: 'failed', flagSource: this.path, reason, failClosed: true });
  }

  private recover(): void {
    if (this.failure === undefined) return; // the first load, or an ordinary edit: nothing to report
    const was = this.failure;
    this.failure = undefined;
    this.tell({ status: 'recovered', flagSource: this.path, reason: `the flag file is valid again (it was unusable: ${was})`, failClosed: false });
  }

  private tell(health: FlagSourceHealth): void {
    safeListener(this.options.onHealth)(health);
  }
}

function bootstrapped(file: FlagFile, appName: string): Unleash {
  const data = file.features.map((f) => ({ strategies: [{ name: 'default', parameters: {}, constraints: [] }], ...f }));
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
}
