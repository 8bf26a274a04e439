import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HomeInUseError, HomeLock, identity, processStart } from './home-lock';

// real: the lock file, the kernel's process table and /proc; fake: nothing (the other holders are real processes).
describe('the home lock', () => {
  const home = () => mkdtempSync(join(tmpdir(), 'home-lock-'));
  const write = (dir: string, pid: number, since: Date) =>
    writeFileSync(join(dir, 'countersign.lock'), JSON.stringify({ pid, host: hostname(), since: since.toISOString() }));

  it('refuses a home whose holder runs, naming it', () => {
    const dir = home();
    // This process, holding it since it started: in use.
    write(dir, process.pid, new Date());
    expect(() => HomeLock.acquire(dir)).toThrow(HomeInUseError);
    expect(() => HomeLock.acquire(dir)).toThrow(new RegExp(`in use by process ${process.pid} \\(this one\\)`));
  });

  it('takes over a lock whose pid now belongs to a process that started after it was written (a pid reused after a crash)', async () => {
    const dir = home();
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => other.once('spawn', r));
      expect(processStart(other.pid!)).toMatchObject({ gone: false });
      // Written an hour before that process started: it cannot be the holder (red team, 2026-12-04: such a lock refused
      // every start until someone deleted it).
      write(dir, other.pid!, new Date(Date.now() - 3_600_000));
      const lock = HomeLock.acquire(dir);
      expect(JSON.parse(readFileSync(join(dir, 'countersign.lock'), 'utf8'))).toMatchObject({ pid: process.pid });
      lock.release();
    } finally {
      other.kill('SIGKILL');
    }
  });
  it('tells its holder by boot id and start ticks, which no clock moves (clock probe, 2026-12-05: a clock stepped forward made a running holder look gone)', async () => {
    const dir = home();
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => other.once('spawn', r));
      const who = identity(other.pid!);
      expect(who).toEqual({ boot: expect.stringMatching(/\S/), startTicks: expect.stringMatching(/^\d+$/) });
      // Its `since` an hour before it started, as a wall clock stepped forward after it wrote the lock makes it look:
      // still its holder.
      const lock = { pid: other.pid!, host: hostname(), since: new Date(Date.now() - 3_600_000).toISOString() };
      writeFileSync(join(dir, 'countersign.lock'), JSON.stringify({ ...lock, ...who }));
      expect(() => HomeLock.acquire(dir)).toThrow(new RegExp(`in use by process ${other.pid}`));
      // The same pid, another start (the pid reused after a crash) or another boot: gone, taken over.
      for (const stale of [
        { ...who, startTicks: `${Number(who.startTicks) + 1}` },
        { ...who, boot: 'another-boot' },
      ]) {
        writeFileSync(join(dir, 'countersign.lock'), JSON.stringify({ ...lock, ...stale }));
        HomeLock.acquire(dir).release();
      }
    } finally {
      other.kill('SIGKILL');
    }
  });
});
