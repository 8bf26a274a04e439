import { createServer, Socket } from 'node:net';
import pino from 'pino';
import { createPgPool } from './index';

// real: PostgreSQL (infra/stack.sh); fake: the network between the pool and it (a proxy the test cuts, so the shared
// PostgreSQL stays up for the other test files).
const url = new URL(process.env.DATABASE_URL ?? '');

async function proxy() {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = new Socket();
    open.add(client).add(upstream);
    const drop = () => [client, upstream].forEach((s) => (s.destroy(), open.delete(s)));
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    upstream.connect(Number(url.port), url.hostname, () => client.pipe(upstream).pipe(client));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    cut: () => open.forEach((s) => s.destroy()),
    close: () => new Promise((r) => server.close(r)),
  };
}

describe('createPgPool', () => {
  it('a connection the server ends while it is checked out fails its statement, and does not crash the process', async () => {
    const p = await proxy();
    const via = new URL(url.toString());
    via.port = String(p.port);
    const pool = createPgPool(via.toString(), 2, undefined, pino({ level: 'silent' }));
    const uncaught: Error[] = [];
    const onUncaught = (e: Error) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const client = await pool.connect();
      await client.query('BEGIN');
      // Ended between two statements of a transaction (PostgreSQL killed, a failover).
      // (Waits for the end, not the error: listening for 'error' here would hide the crash this test is about.)
      const ended = new Promise((r) => client.once('end', r));
      p.cut();
      await ended;
      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release(true);
      // The pool opens a new connection for the next query.
      expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await pool.end();
      await p.close();
    }
  });
});
