import { execFileSync } from 'node:child_process';
import { connect, createServer, Socket } from 'node:net';
import {
  connectionBudget,
  ConnectionRefused,
  DEFAULT_CONNECTIONS_PER_SOURCE,
  lesserServerBudget,
  limitConnectionsPerSource,
  openFilesLimit,
} from './connections';

// real: this process's /proc/self/limits, a child started under `prlimit`, and TCP connections on 127.0.0.1; fake: nothing.
describe('the connection budget (disk probe, 2026-12-05: slow sockets from three addresses used up every descriptor)', () => {
  it('keeps a quarter of the descriptors (at least 128) for the process, and gives no source more than an eighth of the rest', () => {
    expect(connectionBudget(400)).toEqual({ total: 272, perSource: 34 });
    expect(connectionBudget(20_000)).toEqual({ total: 15_000, perSource: DEFAULT_CONNECTIONS_PER_SOURCE });
    expect(connectionBudget(1_024, 64)).toEqual({ total: 768, perSource: 64 });
    expect(connectionBudget(100)).toEqual({ total: 16, perSource: 2 });
    // Three sources at their cap leave room for everyone else.
    const { total, perSource } = connectionBudget(400);
    expect(3 * perSource).toBeLessThan(total! / 2);
    expect(connectionBudget(undefined)).toEqual({ perSource: DEFAULT_CONNECTIONS_PER_SOURCE });
  });

  it("reads the process's soft limit on open files (Node raises it to the hard one as it starts)", () => {
    expect(openFilesLimit()).toBeGreaterThan(0);
    const child = execFileSync(
      'prlimit',
      [
        '--nofile=321:321',
        process.execPath,
        '-r',
        './tools/register.js',
        '-e',
        "process.stdout.write(String(require('./libs/platform/limits/src/connections').openFilesLimit()))",
      ],
      {
        cwd: `${__dirname}/../../../..`,
      },
    ).toString();
    expect(child).toBe('321');
  });

  it('gives a lesser server of the process (the identity provider) an eighth of the budget, inside the quarter kept back', () => {
    expect(lesserServerBudget(20_000)).toEqual({ total: 1_875, perSource: 234 });
    expect(lesserServerBudget(400)).toEqual({ total: 34, perSource: 4 });
    expect(lesserServerBudget(100)).toEqual({ total: 16, perSource: 2 });
    expect(lesserServerBudget(undefined)).toEqual({ perSource: DEFAULT_CONNECTIONS_PER_SOURCE });
    // Both servers at their caps still leave descriptors for the process's own files.
    for (const limit of [400, 1_024, 20_000]) expect(connectionBudget(limit).total! + lesserServerBudget(limit).total!).toBeLessThan(limit);
  });

  it("records a connection Node closes past the server's maxConnections, as one the per-source cap closes", async () => {
    const server = createServer(() => undefined);
    server.maxConnections = 2;
    const refused: ConnectionRefused[] = [];
    limitConnectionsPerSource(server, 100, undefined, (r) => refused.push(r));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const s = connect({ port, host: '127.0.0.1' });
        sockets.push(s);
        await new Promise<void>((resolve) => s.once('connect', () => resolve()));
      }
      // The third is closed by the server.
      await new Promise<void>((resolve) => sockets[2].once('close', () => resolve()));
      expect(refused).toEqual([{ status: 429, message: 'too many connections open at once: this server holds at most 2', source: '127.0.0.1' }]);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
