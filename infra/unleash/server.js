// The Unleash server for local runs and tests, on 127.0.0.1 only, backed by PostgreSQL.
// Started by infra/stack.sh with UNLEASH_PORT, DATABASE_URL and the init API tokens in the environment
// (INIT_ADMIN_API_TOKENS, INIT_BACKEND_API_TOKENS), which Unleash creates on its first start.
process.env.SEND_TELEMETRY = 'false';
const { start } = require('unleash-server');

start({
  databaseUrl: process.env.DATABASE_URL,
  db: { ssl: false, pool: { min: 0, max: 4 } },
  server: { host: '127.0.0.1', port: Number(process.env.UNLEASH_PORT || 14242), enableRequestLogger: false },
  versionCheck: { enable: false },
  telemetry: false,
  logLevel: 'warn',
  // API tokens only: no password user `admin` / `unleash4all` on a fresh database (no-default-admin.js removes an older one).
  authentication: { enableApiToken: true, createAdminUser: false },
}).catch((err) => {
  console.error(`unleash failed to start: ${err.message}`);
  process.exit(1);
});
