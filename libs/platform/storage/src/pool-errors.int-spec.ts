import { createServer, Socket } from 'node:net';
import pino from 'pino';
import { createPgPool, withConnection } from './index';

// real: PostgreSQL (infra/stack.sh), node-postgres; fake: the network between the pool and it (a proxy the test cuts or
// stalls, so the shared PostgreSQL stays up for the other test files).
const url = new URL(process.env.DATABASE_URL ?? '');

/**
 * `cut()` ends every connection; `stall()` is the quieter failure, a host that stops answering or a partition that
 * drops packets: the connections open now stay open, but nothing crosses them any more (neither side hears of it);
 * new ones work.
 */
async function proxy() {
  const open = new Set<Socket>();
  const stalled = new WeakSet<Socket>();
  const server = createServer((client) => {
    const upstream = new Socket();
    open.add(client).add(upstream);
    const drop = () => [client, upstream].forEach((s) => (s.destroy(), open.delete(s)));
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    const forward = (from: Socket, to: Socket) => from.on('data', (chunk) => void (stalled.has(from) || to.write(chunk)));
    upstream.connect(Number(url.port), url.hostname, () => (forward(client, upstream), forward(upstream, client)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: () => Object.assign(new URL(url.toString()), { port: String((server.address() as { port: number }).port) }).toString(),
    cut: () => open.forEach((s) => s.destroy()),
    stall: () => open.forEach((s) => stalled.add(s)),
    close: () => new Promise((r) => (open.forEach((s) => s.destroy()), server.close(r))),
  };
}

describe('createPgPool', () => {
  it('a connection the server ends while it is checked out fails its statement, and does not crash the process', async () => {
    const p = await proxy();
    const pool = createPgPool(p.url(), 2, undefined, pino({ level: 'silent' }));
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

  it('a statement whose server stops answering fails as a dependency failure, and its connection is never handed out again', async () => {
    const p = await proxy();
    // A 1 s statement timeout: the client gives up 5 s later on a server that does not answer at all.
    const pool = createPgPool(p.url(), 1, undefined, pino({ level: 'silent' }), 1_000);
    try {
      // A live server cancels a statement past its timeout: retried as an outage, not taken for a bad message.
      const slow = await pool.query('SELECT pg_sleep(3)').catch((e: Error) => e);
      expect(slow).toMatchObject({ code: '57014' }); // retried as an outage (isDependencyFailure, failures.spec.ts)
      // The one connection stalls in the middle of a transaction (a partition that drops packets): without a deadline
      // the statement, and every caller queued behind it on this pool of one, would wait for good.
      const stuck = withConnection(pool, async (client) => {
        await client.query('BEGIN');
        p.stall();
        await client.query('SELECT 1');
        await client.query('COMMIT');
      }).catch((e: Error) => e);
      const failed = await stuck;
      expect(failed).toMatchObject({ message: 'Query read timeout' }); // an outage too
      // Dropped, not handed back: the next statement gets a new connection (the path works again for new ones).
      expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      expect(pool.totalCount).toBe(1);
    } finally {
      await pool.end();
      await p.close();
    }
  });
});
