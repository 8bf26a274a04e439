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
    drop: async () => {
      const c = new Client({ connectionString: process.env.DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}
