import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadIdentityUsers, RunningIdentityProvider, startIdentityProvider, writeIdentityUsers } from '@countersign/identity';
import type { Logger } from '@countersign/logging';
import { createInMemorySessionStore, InboxOptions } from '@countersign/review-queue';

const CLIENT_ID = 'countersign-inbox';

/**
 * The embedded mode's sign-in: the local OpenID Connect provider (seeded users in `<home>/identity/users.json`, their
 * passwords in `<home>/identity/passwords/`, made on the first start) on a loopback port of its own, and the inbox
 * that signs in through it. One process: the client secret is new at every start and never leaves memory.
 */
export function localIdentity(home: string, host: string, port = 0, logger?: Logger) {
  const dir = join(home, 'identity');
  const usersFile = join(dir, 'users.json');
  if (!existsSync(usersFile)) writeIdentityUsers(dir);
  const users = loadIdentityUsers(usersFile);
  const clientSecret = randomBytes(32).toString('base64url');
  let running: RunningIdentityProvider | undefined;
  return {
    passwordsDir: join(dir, 'passwords'),
    /** The inbox's settings; `publicUrl` is known once the services listen. */
    inbox: (publicUrl: () => string): InboxOptions => ({
      issuer: () => {
        if (!running) throw new Error('the local identity provider has not started');
        return running.issuer;
      },
      clientId: CLIENT_ID,
      clientSecret,
      publicUrl,
      sessions: createInMemorySessionStore(),
    }),
    /** Starts the provider, which knows the inbox at `publicUrl` as its one client. */
    start: async (publicUrl: string) => {
      running = await startIdentityProvider({
        users,
        host,
        port,
        logger,
        clients: [
          { clientId: CLIENT_ID, clientSecret, redirectUris: [`${publicUrl}/auth/callback`], postLogoutRedirectUris: [`${publicUrl}/auth/signed-out`] },
        ],
      });
      return running;
    },
  };
}
