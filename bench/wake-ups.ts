// What one wake-up costs on the machine a bench runs on, printed beside bench:spine's figures so that its paced phases can
// be compared across machines. At a trickle nothing is batched: each event wakes every process on its way, once per
// request, and the paced phases cost 4–8× the flood's CPU per action on the 2-core VM these benches were written on
// (docs/benchmarks.md, "What a paced action costs").
import { spawn } from 'node:child_process';
import { connect, Socket } from 'node:net';

/** An echo server in a process of its own: echoes what it reads, and answers `?` with its own CPU time so far (µs). */
const ECHO = `
const server = require('node:net').createServer((s) => s.on('data', (d) => {
  if (d.length === 1 && d[0] === 63) { const u = process.cpuUsage(); s.write(JSON.stringify(u.user + u.system)); } else s.write(d);
}));
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();`;

export interface WakeUpCost {
  /** CPU (µs, both processes, user + system) of one round trip of 512 bytes over loopback TCP, each after a pause. */
  roundTripUs: number;
  /** CPU (µs) of one timer that wakes an otherwise idle process. */
  timerUs: number;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Measures `n` paced round trips and `n` idle timers, `gapMs` apart (defaults: 300 of each, 5 ms apart, about 3 s). */
export async function wakeUpCost(n = 300, gapMs = 5): Promise<WakeUpCost> {
  const child = spawn(process.execPath, ['-e', ECHO], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    });
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s)).once('error', reject);
    });
    socket.setNoDelay(true);
    // The whole answer: at least `expect` bytes (TCP may deliver a payload's echo in more than one read).
    const reply = (bytes: Buffer | string, expect = 1) =>
      new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        let got = 0;
        const read = (d: Buffer) => {
          chunks.push(d);
          got += d.length;
          if (got < expect) return;
          socket.off('data', read);
          resolve(Buffer.concat(chunks));
        };
        socket.on('data', read);
        socket.write(bytes);
      });
    const childCpu = async () => Number((await reply('?')).toString());
    const payload = Buffer.alloc(512, 1);
    for (let i = 0; i < 20; i++) await reply(payload, payload.length); // warm-up
    const [mine, theirs] = [cpuUs(), await childCpu()];
    for (let i = 0; i < n; i++) {
      await pause(gapMs);
      await reply(payload, payload.length);
    }
    // The pauses' own timers are in `mine`: measured alone below, and taken out.
    const roundTrips = cpuUs() - mine + ((await childCpu()) - theirs);
    const t0 = cpuUs();
    for (let i = 0; i < n; i++) await pause(gapMs);
    const timers = cpuUs() - t0;
    socket.destroy();
    return { roundTripUs: Math.max(0, roundTrips - timers) / n, timerUs: timers / n };
  } finally {
    child.stdin.end();
    child.kill();
  }
}

/** One line for a bench's output. */
export const wakeUpLine = (c: WakeUpCost) =>
  `this machine: a paced loopback round trip between two processes costs ${Math.round(c.roundTripUs)} µs of CPU (both ends), ` +
  `an idle timer's wake-up ${Math.round(c.timerUs)} µs`;
