import { Inject, Injectable, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import * as oidc from 'openid-client';
import { TenantsSchema } from '@countersign/nest';
import { INBOX_OPTIONS } from '../tokens';
import { InboxOptions, resolve } from './inbox.options';
import type { PendingSignIn } from './session.store';

/** The scopes the inbox asks for: identity, display name and roles (`pii:view` is one of them; `tenants` rides with them). */
const SCOPE = 'openid profile roles';

/**
 * How far the provider's clock may be behind the inbox's: an `auth_time` this long before the sign-in began still counts
 * as an authentication for it.
 */
export const AUTH_TIME_SKEW_MS = 120_000;

/** What the review queue learns from a verified ID token. */
export interface SignedInIdentity {
  sub: string;
  name: string;
  roles: string[];
  /** The tenants whose review items they reach (the ID token's `tenants` claim); absent: every tenant (ADR 0052). */
  tenants?: string[];
  amr: string[];
  /** The ID token's `auth_time` (ms since the epoch): during this sign-in (`finish` refuses any other). */
  authTime?: number;
  idToken: string;
}

/**
 * OpenID Connect sign-in (authorization code with PKCE, `openid-client`): the provider's metadata is discovered on
 * the first sign-in (so the review queue starts while the provider does), and again after a failure.
 */
@Injectable()
export class OidcSignIn {
  private config?: Promise<oidc.Configuration>;

  constructor(@Inject(INBOX_OPTIONS) private readonly options: InboxOptions) {}

  /**
   * A new sign-in: the provider's authorization URL, and what the callback must check its answer against. Every
   * sign-in asks the person to authenticate (`prompt=login`, `max_age=0`), even with a session at the provider, so a
   * user enrolled in a second factor is asked for it and the new ID token's `amr` says so (the step-up for critical
   * approvals). The provider's session is not taken instead: its cookies reach any server on another port of the host,
   * and one replayed opened an inbox session with no password, and its `mfa` approved a critical change after the
   * reviewer had signed out (sessions probe, 2026-12-06).
   */
  async start(returnTo: string): Promise<{ url: string; pending: PendingSignIn }> {
    const config = await this.discover();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const pending: PendingSignIn = {
      kind: 'pending',
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier,
      returnTo,
      startedAt: Date.now(),
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri(),
      scope: SCOPE,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
      prompt: 'login',
      // With max_age the provider must say when the person authenticated (`auth_time`, OpenID Connect Core 3.1.2.1):
      // `finish` takes only an authentication given for this sign-in.
      max_age: '0',
    });
    return { url: url.href, pending };
  }

  /**
   * Exchanges the code for tokens (PKCE) and reads the ID token's claims after openid-client checked its issuer, audience,
   * expiry and nonce. Its signature is not checked here: the token came straight from the token endpoint over the
   * connection this client opened (OIDC Core 3.1.3.7, as openid-client v6 does without `enableNonRepudiationChecks`), so
   * point `OIDC_ISSUER_URL` at an https: issuer (the embedded provider is on loopback).
   */
  async finish(callbackUrl: URL, pending: PendingSignIn): Promise<SignedInIdentity> {
    const config = await this.discover();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (e) {
      throw new UnauthorizedException(`sign-in failed: ${(e as Error).message}`);
    }
    const claims = tokens.claims();
    if (!claims || !tokens.id_token) throw new UnauthorizedException('sign-in failed: the identity provider sent no ID token');
    // Authenticated for this sign-in, not before it: a provider that answered from its session (it ignored
    // `prompt=login`), or a code obtained earlier, signs no one in (sessions probe, 2026-12-06).
    const authTime = typeof claims.auth_time === 'number' ? claims.auth_time * 1000 : undefined;
    if (authTime === undefined)
      throw new UnauthorizedException('sign-in refused: the identity provider did not say when you authenticated (auth_time); nothing was signed in');
    if (pending.startedAt !== undefined && authTime < pending.startedAt - AUTH_TIME_SKEW_MS)
      throw new UnauthorizedException(
        `sign-in refused: the identity provider took an authentication from ${new Date(authTime).toISOString()}, before this sign-in began; nothing was signed in: sign in again`,
      );
    const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    const tenants = tenantsClaim(claims.tenants);
    return {
      sub: claims.sub,
      name: typeof claims.name === 'string' ? claims.name : claims.sub,
      roles: strings(claims.roles),
      ...(tenants && { tenants }),
      amr: strings(claims.amr),
      authTime,
      idToken: tokens.id_token,
    };
  }

  /** Where the browser goes to end the provider's session too; undefined when the provider offers no such endpoint. */
  async signOutUrl(idToken: string): Promise<string | undefined> {
    const config = await this.discover();
    if (!config.serverMetadata().end_session_endpoint) return undefined;
    return oidc.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: `${resolve(this.options.publicUrl)}/auth/signed-out` }).href;
  }

  redirectUri = () => `${resolve(this.options.publicUrl)}/auth/callback`;

  private discover(): Promise<oidc.Configuration> {
    const issuer = new URL(resolve(this.options.issuer));
    this.config ??= oidc
      .discovery(issuer, this.options.clientId, undefined, oidc.ClientSecretBasic(this.options.clientSecret), {
        // A loopback provider (the local one) speaks plain HTTP; any other issuer must be HTTPS.
        ...(issuer.protocol === 'http:' && isLoopback(issuer.hostname) && { execute: [oidc.allowInsecureRequests] }),
      })
      .catch((e: Error) => {
        this.config = undefined;
        throw new ServiceUnavailableException(`the identity provider ${issuer.origin} cannot be reached: ${e.message}`);
      });
    return this.config;
  }
}

/**
 * The tenants an ID token's `tenants` claim binds its person to; undefined when it has none (every tenant, as an agent's
 * token without `tenants`). Read as strictly as a token entry's `tenants` (`TenantsSchema`): a claim that is there but is
 * not a list of 1 to 1000 tenant names refuses the sign-in. Roles are read leniently (an odd one only grants less); a
 * tenant claim read so would grant more: `"acme"` as a string, or `[]`, dropped to nothing, would be every tenant.
 */
export function tenantsClaim(claim: unknown): string[] | undefined {
  if (claim === undefined) return undefined;
  const parsed = TenantsSchema.safeParse(claim);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new UnauthorizedException(
    `sign-in refused: the identity provider's tenants claim must be a list of 1 to 1000 tenant names (${issue.path.length ? `tenants.${issue.path.join('.')}: ` : ''}${issue.message}); ` +
      'nothing was signed in: ask its administrator to correct the claim, or to leave it out for a reviewer of every tenant',
  );
}

const isLoopback = (host: string) => host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
