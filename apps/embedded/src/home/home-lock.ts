import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readRegularFile } from '@countersign/config';

/** Refused: another live process runs on this home. */
export class HomeInUseError extends Error {}

interface Holder {
  pid: number;
  host: string;
  since: string;
  /**
   * Who the holder is without a clock (Linux): the kernel's boot id and the holder's start time in clock ticks since
   * that boot. Absent where `/proc` cannot be read, and in locks written before them.
   */
  boot?: string;
  startTicks?: string;
}

/** A lock file being written by its holder (created, not yet filled) is in use for this long at most. */
const BEING_WRITTEN_MS = 5_000;

/**
 * One process per `COUNTERSIGN_HOME`: two processes on one home would each replay the same bus log and write
 * the same database (PGlite does not lock its folder), silently merging two histories. The lock is a file
 * created exclusively (`O_EXCL`) that names its holder's pid; a lock left by a process that is gone (kill -9) is
 * taken over. A lock held by this very process (a second start in one process) refuses too.
 */
export class HomeLock {
  private constructor(
    readonly file: string,
    private readonly mine: string,
  ) {}

  static acquire(home: string): HomeLock {
    const file = join(home, 'countersign.lock');
    const mine = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), ...identity(process.pid) } satisfies Holder);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        try {
          writeSync(fd, mine);
        } finally {
          closeSync(fd);
        }
        return new HomeLock(file, mine);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const raw = read(file);
      if (raw === undefined) continue; // released meanwhile: try again
      const holder = parse(raw);
      if (!holder) {
        if (Date.now() - mtime(file) < BEING_WRITTEN_MS) throw inUse(file, 'a process that is starting');
      } else if (holder.host !== hostname()) {
        // Most often a home copied from that host (a backup, a move): started beside the original, the two would fork
        // it, each executing what the other did (home probe, 2026-12-05: the message invited deleting the lock).
        throw new HomeInUseError(
          `COUNTERSIGN_HOME holds the lock of process ${holder.pid} on host ${holder.host} (lock ${file}), which cannot be checked from here: ` +
            `if this home was copied from ${holder.host}, stop Countersign there for good before removing the lock (two copies of a home that both run execute what the other did, and fork its audit log); if it was moved here after a crash there, remove the lock`,
        );
      } else if (alive(holder)) {
        throw inUse(file, `process ${holder.pid}${holder.pid === process.pid ? ' (this one)' : ''}, running since ${holder.since}`);
      }
      // Left by a process that is gone: take it over, unless someone else just did.
      if (read(file) === raw) unlinkSync(file);
    }
    throw inUse(file, 'processes that keep taking it');
  }

  /** Throws if the lock is no longer this process's (two starts took over one stale lock at the same instant). */
  verify(): void {
    if (read(this.file) !== this.mine) throw inUse(this.file, 'another process that took over the same stale lock');
  }

  release(): void {
    if (read(this.file) === this.mine) unlinkSync(this.file);
  }
}

function inUse(file: string, holder: string): HomeInUseError {
  return new HomeInUseError(`COUNTERSIGN_HOME is in use by ${holder} (lock ${file}): one process per home. Stop it first, or choose another COUNTERSIGN_HOME.`);
}

function read(file: string): string | undefined {
  try {
    return readRegularFile(file, 64 * 1024).toString('utf8');
  } catch {
    return undefined;
  }
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function parse(raw: string): Holder | undefined {
  try {
    const h = JSON.parse(raw) as Holder;
    return Number.isInteger(h.pid) && h.pid > 0 ? h : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the holder still runs. Signal 0 asks the kernel whether the pid exists, without signalling it (EPERM: it
 * exists, owned by another user). Where `/proc` says more, a pid that exists may still not be the holder: a zombie (a
 * killed process its parent has not reaped yet) is gone, and so is a pid that another process got after a crash or a
 * reboot (red team, 2026-12-04: such a lock refused every start until someone deleted it). That is told by the holder's
 * boot id and start ticks, which no clock moves. Locks written before them compare the wall clock's `since` with the
 * start time `/proc` derives from the boot time, which the kernel moves with the wall clock: a clock stepped forward made
 * a running holder look gone, and a second process took its home (clock probe, 2026-12-05: one Idempotency-Key, two refunds).
 */
function alive(holder: Holder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const now = identity(holder.pid);
  if (holder.boot !== undefined && holder.startTicks !== undefined && now.boot !== undefined)
    return now.boot === holder.boot && now.startTicks === holder.startTicks && !processStart(holder.pid)?.gone;
  const started = processStart(holder.pid);
  if (!started) return true; // no /proc: the pid is taken as the holder's
  if (started.gone) return false;
  const written = Date.parse(holder.since);
  // The holder wrote `since` after it started (the boot time in /proc/stat is whole seconds: two of slack).
  return Number.isNaN(written) || started.atMs <= written + 2_000;
}

/** The kernel's boot id and `pid`'s start time in ticks since that boot (`/proc`, Linux); empty where they cannot be read. */
export function identity(pid: number): { boot?: string; startTicks?: string } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return boot && /^\d+$/.test(startTicks ?? '') ? { boot, startTicks } : {};
  } catch {
    return {};
  }
}

/** When a process started and whether it is a zombie, from `/proc` (Linux); undefined where it cannot be read. */
export function processStart(pid: number): { atMs: number; gone: boolean } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm) ": state is the first, starttime (clock ticks since boot, 100 a second) the twentieth.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const boot = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1];
    if (boot === undefined) return undefined;
    return { atMs: (Number(boot) + Number(fields[19]) / 100) * 1000, gone: fields[0] === 'Z' || fields[0] === 'X' };
  } catch {
    return undefined;
  }
}
