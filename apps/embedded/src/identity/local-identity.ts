import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadIdentityUsers, RunningIdentityProvider, SignInRefusal, startIdentityProvider, writeIdentityUsers } from '@countersign/identity';
import type { EventBus } from '@countersign/bus';
import type { Logger } from '@countersign/logging';
import { auditRejection, REJECTION_SUMMARY_INTERVAL_MS, RejectionBudget, summaryReason } from '@countersign/nest';
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
      const audit =
        bus && logger
          ? signInRefusalAudit(
              bus,
              logger,
              users.map((u) => u.sub),
            )
          : undefined;
      const provider = await startIdentityProvider({
        users,
        host,
        port,
        logger,
        ...(audit && { onRefused: audit.refused }),
        clients: [
          { clientId: CLIENT_ID, clientSecret, redirectUris: [`${publicUrl}/auth/callback`], postLogoutRedirectUris: [`${publicUrl}/auth/signed-out`] },
        ],
      });
      running = {
        issuer: provider.issuer,
        close: async () => {
          audit?.close();
          await provider.close();
        },
      };
      return running;
    },
  };
}

/**
 * Refused sign-ins, audited as every refused request is (`auditRejection`), within the same budget per source address
 * (`RejectionBudget`, docs/adr/0034): beyond it they are counted and audited as one summary per source and interval, so
 * guessing at every user name cannot grow the audit without bound. The name given is recorded only when it is a
 * user's: anything else may be a password typed into the wrong field.
 */
export function signInRefusalAudit(bus: EventBus, logger: Logger, known: string[], budget = new RejectionBudget()) {
  const data = (seen: { method: string; path: string; status: number; reason: string }) => ({ service: 'identity-provider', ...seen, principal: null });
  const summarise = () => {
    for (const s of budget.drain()) auditRejection(bus, logger, data({ ...s.last, reason: summaryReason(s) }));
  };
  const summaries = setInterval(summarise, REJECTION_SUMMARY_INTERVAL_MS).unref();
  return {
    refused: (r: SignInRefusal) => {
      const who = r.user === '' ? 'no user name given' : known.includes(r.user) ? `user ${r.user}` : 'a user name that is no user';
      const seen = { method: r.method, path: r.path, status: r.status, reason: `${r.reason} (${who})` };
      if (budget.take(r.source, seen)) auditRejection(bus, logger, data(seen));
    },
    /** Audits what was counted since the last summary. */
    summarise,
    close: () => {
      clearInterval(summaries);
      summarise();
    },
  };
}
