import { Client } from 'pg';
import { uniqueName } from './env';

const withDatabase = (url: string, db: string) => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

/**
 * A fresh PostgreSQL database for one test, owned by the app role; `urlFor` gives the same database
 * under another role's URL (e.g. the restricted audit role). `drop()` removes it.
 */
export async function createTestDatabase(prefix = 'test') {
  const name = uniqueName(prefix);
  const admin = new Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  return {
    name,
    url: withDatabase(process.env.DATABASE_URL!, name),
    urlFor: (roleUrl: string) => withDatabase(roleUrl, name),
    /** Drops it once the sessions closed by the test are gone (a closed pool's backends exit a moment later). */
    drop: async () => {
      const c = new Client({ connectionString: process.env.DATABASE_URL });
      await c.connect();
      try {
        for (let attempt = 0; ; attempt++) {
          try {
            await c.query(`DROP DATABASE IF EXISTS "${name}"`);
            return;
          } catch (e) {
            if (!/being accessed by other users/.test((e as Error).message) || attempt >= 50) throw e;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      } finally {
        await c.end();
      }
    },
  };
}
