// Unleash makes a password user `admin` / `unleash4all` on an empty database (its documented default), and anyone on
// the machine could sign in as it and hold every flag (red team, 2026-12-02). Countersign and its tests use API tokens
// only: server.js creates no such user, and this removes one an earlier start made. Then it checks that the default
// sign-in is refused. Run by infra/stack.sh with UNLEASH_URL (the server's root) and UNLEASH_ADMIN_TOKEN; exit 1 on
// failure, printing why; prints what it removed, nothing when there was nothing to remove.
'use strict';
const base = process.env.UNLEASH_URL;
const token = process.env.UNLEASH_ADMIN_TOKEN;

async function call(method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: token, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

(async () => {
  const list = await call('GET', '/api/admin/user-admin');
  if (list.status !== 200) throw new Error(`listing Unleash's users answered ${list.status}`);
  for (const user of list.body.users.filter((u) => u.username === 'admin' && u.accountType !== 'Service Account')) {
    const removed = await call('DELETE', `/api/admin/user-admin/${user.id}`);
    if (removed.status !== 200) throw new Error(`removing Unleash's default user admin (id ${user.id}) answered ${removed.status}`);
    console.log(`removed the default password user admin (id ${user.id}): only API tokens sign in`);
  }
  const login = await fetch(`${base}/auth/simple/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'unleash4all' }),
    signal: AbortSignal.timeout(10_000),
  });
  if (login.status === 200) throw new Error('the default sign-in admin / unleash4all is still accepted');
})().catch((e) => {
  console.log(e.message);
  process.exit(1);
});
