// The local OpenID Connect provider as a process of its own (the distributed mode's sign-in, tests, local use):
//   IDENTITY_USERS_FILE=… IDENTITY_CLIENT_SECRET_FILE=… IDENTITY_CLIENT_URL=http://127.0.0.1:8082 \
//     node -r ./tools/register.js libs/platform/identity/src/main.ts
// A missing users file is seeded (DEFAULT_USERS, passwords beside it in passwords/). Production uses its own issuer.
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { loadConfigOrExit, refuseMisspelledSettingsOrExit, settings } from '@countersign/config';
import { createLogger } from '@countersign/logging';
import { startIdentityProvider } from './identity-provider';
import { loadIdentityUsers, writeIdentityUsers } from './users';

const IdentitySettings = z.object({
  HOST: settings.host(),
  PORT: settings.port(8090),
  LOG_LEVEL: settings.logLevel(),
  /** The users (hashes only; `writeIdentityUsers` shape); seeded with the default users when missing. */
  IDENTITY_USERS_FILE: z.string().min(1),
  /** The review queue's client id. */
  IDENTITY_CLIENT_ID: z.string().min(1).default('countersign-inbox'),
  /** A file holding the client secret the review queue authenticates with (`OIDC_CLIENT_SECRET_FILE` there). */
  IDENTITY_CLIENT_SECRET_FILE: z.string().min(1),
  /** The review queue's address as browsers reach it (its `REVIEW_INBOX_URL`): the redirect URIs are under it. */
  IDENTITY_CLIENT_URL: z.string().url(),
});
const config = loadConfigOrExit(IdentitySettings);
refuseMisspelledSettingsOrExit([IdentitySettings]);

void (async () => {
  const logger = createLogger('identity', { level: config.LOG_LEVEL });
  try {
    if (!existsSync(config.IDENTITY_USERS_FILE)) writeIdentityUsers(dirname(config.IDENTITY_USERS_FILE));
    const url = config.IDENTITY_CLIENT_URL.replace(/\/$/, '');
    const idp = await startIdentityProvider({
      users: loadIdentityUsers(config.IDENTITY_USERS_FILE),
      host: config.HOST,
      port: config.PORT,
      logger,
      clients: [
        {
          clientId: config.IDENTITY_CLIENT_ID,
          clientSecret: readFileSync(config.IDENTITY_CLIENT_SECRET_FILE, 'utf8').trim(),
          redirectUris: [`${url}/auth/callback`],
          postLogoutRedirectUris: [`${url}/auth/signed-out`],
        },
      ],
    });
    const stop = async () => {
      await idp.close();
      process.exit(0);
    };
    // Before the line that says it listens: a signal read as its answer is then a clean stop, not Node's default exit.
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    logger.info({ issuer: idp.issuer }, `identity provider listening on ${idp.issuer}`);
  } catch (e) {
    logger.fatal({ err: e }, `identity provider failed to start: ${(e as Error).message}`);
    process.exit(1);
  }
})();
