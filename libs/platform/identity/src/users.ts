import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { nameString } from '@countersign/contracts';
import { newTotpSecret, otpauthUri } from './totp';

/**
 * A person the local identity provider signs in: the claims it asserts (`sub`, `name`, `roles`, and `tenants` for a
 * reviewer of some tenants only), a scrypt hash of the password (the users file holds no usable password), and a TOTP
 * secret for those enrolled in MFA.
 */
export const IdentityUserSchema = z.object({
  sub: z.string().regex(/^[a-z][a-z0-9._-]{0,63}$/),
  name: z.string().min(1).max(200),
  roles: z.array(z.string().min(1).max(64)).max(32),
  /** The tenants whose review items they reach, asserted as the `tenants` claim (the review queue reads it, ADR 0052); absent: every tenant. */
  // Spelled as a proposal's tenant may be (`nameString`): one it cannot be, such as " acme", bound to nothing (red team, 2026-12-05).
  tenants: z.array(nameString(200)).min(1).max(1000).optional(),
  /** `scrypt$<salt b64url>$<hash b64url>`. */
  password: z.string().regex(/^scrypt\$[\w-]+\$[\w-]+$/),
  totpSecret: z.string().min(16).optional(),
});
export type IdentityUser = z.infer<typeof IdentityUserSchema>;
export const IdentityUsersFileSchema = z.array(IdentityUserSchema);

// In line (scryptSync): only when a users file is written, at a first start.
export const hashPassword = (password: string, salt = randomBytes(16)) =>
  `scrypt$${salt.toString('base64url')}$${scryptSync(password, salt, 32).toString('base64url')}`;

/**
 * A hash no password matches (its salt and value random at start), checked in place of an unknown user's: the answer
 * then takes as long as a wrong password's, so its timing does not tell which names exist (red team, 2026-12-04: 15–35 ms
 * against 70–400 ms). Its value is 32 random bytes, not the scrypt of anything: a check still runs scrypt on the
 * candidate, and no password's scrypt equals them (1 in 2^256), so the process need not spend 110 ms of scrypt at load.
 */
const NO_USER = `scrypt$${randomBytes(16).toString('base64url')}$${randomBytes(32).toString('base64url')}`;

/** The hash a sign-in checks the password against: the user's, or for an unknown name one that no password matches. */
export const hashToCheck = (user: IdentityUser | undefined): string => user?.password ?? NO_USER;

/** Checks `password` for `user`, or for nobody: the same work either way; false for an unknown user. */
export async function checkUserPassword(user: IdentityUser | undefined, password: string): Promise<boolean> {
  const matches = await checkPassword(hashToCheck(user), password);
  return user !== undefined && matches;
}

/**
 * Compares in constant time; false for a malformed hash. The hash runs on libuv's thread pool, not the event loop: a
 * check takes tens of ms, and done in line it stalled every other request of the process (red team, H2).
 */
export async function checkPassword(hash: string, password: string): Promise<boolean> {
  const [, salt, expected] = hash.split('$');
  if (!salt || !expected) return false;
  const got = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, Buffer.from(salt, 'base64url'), 32, (err, key) => (err ? reject(err) : resolve(key))),
  );
  const want = Buffer.from(expected, 'base64url');
  return got.length === want.length && timingSafeEqual(got, want);
}

export interface SeedUser {
  sub: string;
  name: string;
  roles: string[];
  /** The tenants whose review items they reach; absent: every tenant. */
  tenants?: string[];
  /** Enrol in MFA (a TOTP secret is made): the user for step-up. */
  mfa?: boolean;
}

/**
 * The people every local environment gets. Ids match the bearer-token principals (alice, bob, carol) so the JSON
 * API and the inbox name one person alike; each role the contract routes to has someone to decide.
 */
export const DEFAULT_USERS: SeedUser[] = [
  { sub: 'alice', name: 'Alice Reviewer', roles: ['reviewer', 'finance', 'security'] },
  { sub: 'bob', name: 'Bob Reviewer', roles: ['reviewer', 'finance', 'security'] },
  { sub: 'carol', name: 'Carol Privacy', roles: ['reviewer', 'finance', 'security', 'pii:view'] },
  { sub: 'fiona', name: 'Fiona Finance', roles: ['reviewer', 'finance'] },
  // Sam and max both have a second factor: a critical item the contract gives two security approvers (a wildcard IAM
  // change, a permission change) needs two people who can step up, or it only ever expires (tenant probe, 2026-12-05).
  { sub: 'sam', name: 'Sam Security', roles: ['reviewer', 'security'], mfa: true },
  { sub: 'lena', name: 'Lena Lead', roles: ['reviewer', 'lead'] },
  { sub: 'max', name: 'Max Stepup', roles: ['reviewer', 'finance', 'security'], mfa: true },
];

/** A seeded user's secrets, as `writeIdentityUsers` made them. */
export interface WrittenUser {
  password: string;
  totpSecret?: string;
}

/**
 * Writes the users file (hashes only) to `<dir>/users.json` and each raw password (and TOTP secret) to
 * `<dir>/passwords/<sub>` (`.totp`, and `.totp-uri`: the `otpauth://` link for an authenticator app), mode 0600, never
 * to a log. Returns the raw secrets by user id.
 */
export function writeIdentityUsers(dir: string, seed = DEFAULT_USERS, passwords: Record<string, string> = {}) {
  mkdirSync(join(dir, 'passwords'), { recursive: true, mode: 0o700 });
  const secrets: Record<string, WrittenUser> = {};
  const users = seed.map((u): IdentityUser => {
    const password = passwords[u.sub] ?? randomBytes(12).toString('base64url');
    writeFileSync(join(dir, 'passwords', u.sub), password, { mode: 0o600 });
    const totpSecret = u.mfa ? newTotpSecret() : undefined;
    if (totpSecret) {
      writeFileSync(join(dir, 'passwords', `${u.sub}.totp`), totpSecret, { mode: 0o600 });
      // The same secret as an authenticator app takes it (and `oathtool --totp -b <its secret=…>`).
      writeFileSync(join(dir, 'passwords', `${u.sub}.totp-uri`), `${otpauthUri(u.sub, totpSecret)}\n`, { mode: 0o600 });
    }
    secrets[u.sub] = { password, ...(totpSecret && { totpSecret }) };
    return {
      sub: u.sub,
      name: u.name,
      roles: u.roles,
      ...(u.tenants && { tenants: u.tenants }),
      password: hashPassword(password),
      ...(totpSecret && { totpSecret }),
    };
  });
  const usersFile = join(dir, 'users.json');
  writeFileSync(usersFile, JSON.stringify(users, null, 2), { mode: 0o600 });
  return { usersFile, users, secrets };
}

/** Reads a users file; a bad one stops the process. */
export function loadIdentityUsers(file: string): IdentityUser[] {
  const parsed = IdentityUsersFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`users file ${file} is invalid: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
