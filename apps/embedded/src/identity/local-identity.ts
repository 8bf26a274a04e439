import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadIdentityUsers, RunningIdentityProvider, SignInRefusal, startIdentityProvider, writeIdentityUsers } from '@countersign/identity';
import type { EventBus } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { createInMemorySessionStore, InboxOptions } from '@countersign/review-queue';

const CLIENT_ID = 'countersign-inbox';

/**
 * The embedded mode's sign-in: the local OpenID Connect provider (seeded users in `<home>/identity/users.json`, their
 * passwords in `<home>/identity/passwords/`, made on the first start) on a loopback port of its own, and the inbox
 * that signs in through it. One process: the client secret is new at every start and never leaves memory. A refused
 * sign-in is audited like a refused API request.
 */
export function localIdentity(home: string, host: string, port = 0, logger?: Logger, bus?: EventBus) {
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
        ...(bus && {
          onRefused: auditRefusal(
            bus,
            users.map((u) => u.sub),
          ),
        }),
        clients: [
          { clientId: CLIENT_ID, clientSecret, redirectUris: [`${publicUrl}/auth/callback`], postLogoutRedirectUris: [`${publicUrl}/auth/signed-out`] },
        ],
      });
      return running;
    },
  };
}

/**
 * A refused sign-in, audited as every refused request is (`security.request.rejected.v1`). The name given is recorded
 * only when it is a user's: anything else may be a password typed into the wrong field.
 */
function auditRefusal(bus: EventBus, known: string[], logger?: Logger) {
  return (r: SignInRefusal) => {
    const id = randomUUID();
    const who = known.includes(r.user) ? `user ${r.user}` : 'a user name that is no user';
    void bus
      .emit(
        TOPICS.requestRejected,
        { service: 'identity-provider', method: 'POST', path: r.path, status: r.status, reason: `${r.reason} (${who})`, principal: null },
        { subject: `request:${id}`, actor: { id: 'anonymous', kind: 'agent', authMethod: 'none' } },
      )
      .catch((e: Error) => logger?.error({ err: e }, 'could not audit a refused sign-in'));
  };
}
