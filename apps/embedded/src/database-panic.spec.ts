import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { call } from '@countersign/testing';

// real: the embedded main as an operator starts it, its home on an ext4 file system of its own (a loop device, as root)
// that the kernel remounts read-only on an error the test triggers, as a failing disk does; fake: nothing.
// Disk probe, 2026-12-05: PGlite PANICked (it could not write its log), then spun at 100 % CPU, answered nothing, not
// even /healthz, and ignored SIGINT; only kill -9 stopped it.
jest.setTimeout(240_000);
const ROOT = join(__dirname, '../../..');
const example = JSON.parse(readFileSync(join(__dirname, '../examples/refund-small.json'), 'utf8'));

it('stops at once, in one line, when the database PANICs on a disk gone read-only', async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'embedded-panic-'));
  const image = join(scratch, 'disk.img');
  const disk = join(scratch, 'mnt');
  mkdirSync(disk);
  execFileSync('truncate', ['-s', '200M', image]);
  execFileSync('mkfs.ext4', ['-q', '-F', image]);
  execFileSync('mount', ['-o', 'loop,errors=remount-ro', image, disk]);
  try {
    const device = basename(execFileSync('findmnt', ['-no', 'SOURCE', disk]).toString().trim());
    const home = join(disk, 'home');
    const child = spawn(process.execPath, ['-r', './tools/register.js', 'apps/embedded/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, COUNTERSIGN_HOME: home, PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const guard = setTimeout(() => child.kill('SIGKILL'), 180_000);
    try {
      let ended = false;
      void exited.then(() => (ended = true));
      let url: string | undefined;
      while (!url && !ended) {
        url = /is running on (http:\/\/[\d.]+:\d+)/.exec(output)?.[1];
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!url) throw new Error(`exited before it ran: ${output}`);
      const agent = readFileSync(join(home, 'tokens', 'agent'), 'utf8');
      expect((await call('POST', `${url}/v1/proposals`, example, agent)).status).toBe(202);
      // The disk fails: the kernel makes it read-only (`emergency_ro`), its dirty pages dropped. The test writes a file
      // there until that fails, so that what follows is written after it.
      execFileSync('sh', ['-c', `echo 1 > /sys/fs/ext4/${device}/trigger_fs_error`]);
      const readOnly = () => {
        try {
          writeFileSync(join(disk, 'probe'), 'x');
          return false;
        } catch (e) {
          return (e as NodeJS.ErrnoException).code === 'EROFS';
        }
      };
      for (let waited = 0; !readOnly(); waited += 100) {
        if (waited > 60_000) throw new Error(`${disk} did not become read-only within a minute`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // The next write PANICs the database: the process stops at once, saying why, instead of spinning deaf. Proposals
      // until it has: a clean clone's run sent one, and nothing came to PANIC on (each writes the database, and a
      // commit writes its log).
      for (let i = 0; !ended && i < 60; i++) {
        await call('POST', `${url}/v1/proposals`, { ...example, target: `order-${100 + i}` }, agent).catch(() => undefined);
        await Promise.race([exited, new Promise((r) => setTimeout(r, 500))]);
      }
      expect(await exited).toBe(1);
      expect(output).toMatch(
        /countersign \(embedded\) stopped: the database could not write \(.*Read-only file system\): nothing more can be recorded; fix the disk, then start it again/,
      );
    } finally {
      clearTimeout(guard);
      child.kill('SIGKILL');
    }
  } finally {
    execFileSync('umount', ['-l', disk]);
  }
});
