import { createServer, Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of one of the stack's parts, so that a test can take that part away from the
 * services under test (and only from them) without stopping the shared server other tests use: `cut()` drops every
 * connection and refuses new ones until `restore()`.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  const open = new Set<Socket>();
  let cut = false;
  const server = createServer((client) => {
    if (cut) return void client.destroy();
    const upstream = new Socket();
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    upstream.connect(target.port, target.host, () => {
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    url: (path = '') => `http://127.0.0.1:${port}${path}`,
    cut: () => {
      cut = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    restore: () => void (cut = false),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
