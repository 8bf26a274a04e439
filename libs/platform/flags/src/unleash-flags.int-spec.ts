import { createServer, Server, Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, stackEnv, uniqueName, unleashAdmin } from '@countersign/testing';
import { flagsSuite } from './flags.suite';
import { createUnleashFlagReader, FlagSourceHealth } from './index';

// real: the Unleash server (infra/stack.sh) and unleash-client; fake: nothing. Flags get a unique prefix.
const env = stackEnv();
const admin = unleashAdmin(env.unleashUrl, env.unleashAdminToken);
const prefix = `${uniqueName('flags')}.`;

flagsSuite(
  'unleash',
  async (spec) => {
    await admin.createAll(Object.entries(spec).map(([name, f]) => ({ name: prefix + name, enabled: f.enabled, variants: f.variant ? [f.variant] : [] })));
    return createUnleashFlagReader({
      url: env.unleashUrl,
      clientToken: env.unleashClientToken,
      appName: 'flags-contract',
      refreshIntervalMs: 200,
      backupDir: mkdtempSync(join(tmpdir(), 'unleash-backup-')),
      environment: 'development',
    });
  },
  (n) => prefix + n,
);

/** A TCP relay to Unleash that the test can cut, to make the server unreachable for the client only. */
async function relay(target: URL): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = new Socket().connect(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    cut: () => {
      open = false;
      sockets.forEach((s) => s.destroy());
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('Unleash flags when the server becomes unreachable', () => {
  it('keep the last known values, also after a restart of the client, and toggles reach the client', async () => {
    const name = `${prefix}exec.support.reply`;
    await admin.create(name, true);
    const link = await relay(new URL(env.unleashUrl));
    const backupDir = mkdtempSync(join(tmpdir(), 'unleash-backup-'));
    const health: FlagSourceHealth[] = [];
    const options = {
      url: link.url,
      clientToken: env.unleashClientToken,
      appName: 'flags-outage',
      refreshIntervalMs: 200,
      backupDir,
      environment: 'development',
      onHealth: (h: FlagSourceHealth) => void health.push(h),
    };
    const reader = createUnleashFlagReader(options);
    expect(await reader.ready(10_000)).toBe(true);
    expect(reader.state(name)).toBe('on');

    await admin.set(name, false);
    await eventually(() => expect(reader.state(name)).toBe('off'), 10_000);
    await admin.set(name, true);
    await eventually(() => expect(reader.state(name)).toBe('on'), 10_000);

    const beforeCut = health.length; // a slow answer before the cut may have been reported, and its recovery
    link.cut();
    await admin.set(name, false); // a change the client cannot see any more
    await admin.visible(name, false);
    await new Promise((r) => setTimeout(r, 1_000)); // five refresh intervals of the cut-off client
    expect(reader.state(name)).toBe('on');
    expect(reader.state(`${prefix}exec.never.seen`)).toBe('unknown');
    // Reported (logged and audited by the service) once, not at every failed refresh.
    await eventually(
      () =>
        expect(health.slice(beforeCut)).toEqual([
          expect.objectContaining({ status: 'failed', failClosed: false, reason: expect.stringMatching(/serving the last known values/) }),
        ]),
      5_000,
    );
    await reader.close();

    // A restart while Unleash is still unreachable: the backup file holds the last known values.
    const restarted = createUnleashFlagReader(options);
    expect(await restarted.ready(10_000)).toBe(true);
    expect(restarted.state(name)).toBe('on');
    await restarted.close();
    await link.close();
  }, 60_000);
});

describe('the stack’s Unleash server', () => {
  // Red team, 2026-12-02: Unleash's default password user (admin / unleash4all) let any local user hold every flag.
  it('lets no one sign in with a password: no password user, the default sign-in refused; the admin API token still works', async () => {
    const root = env.unleashUrl.replace(/\/api\/?$/, '');
    const login = await fetch(`${root}/auth/simple/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'unleash4all' }),
    });
    expect(login.status).toBe(401);
    const users = await fetch(`${root}/api/admin/user-admin`, { headers: { Authorization: env.unleashAdminToken } });
    expect(users.status).toBe(200);
    expect(((await users.json()) as { users: Array<{ username?: string }> }).users.map((u) => u.username)).not.toContain('admin');
  });
});
