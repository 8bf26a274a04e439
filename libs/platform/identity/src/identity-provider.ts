import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '@countersign/logging';
import { newKeyPair } from '@countersign/keys';
import { lesserServerBudget, limitConnectionsPerSource, openFilesLimit, RequestWindows, sourceOf } from '@countersign/limits';
import { MemoryAdapter, memoryAdapter, MemoryAdapterOptions } from './memory-adapter';
import { DEFAULT_IDENTITY_LIMITS, IdentityLimits, WorkQueue } from './request-limits';
import { checkUserPassword, IdentityUser } from './users';
import { DeviceCookies } from './device-cookies';
import { DEFAULT_SIGN_IN_THROTTLE, SignInThrottle, SignInThrottleSettings } from './sign-in-throttle';
import { totpStep } from './totp';

/** A relying party the identity provider knows: the review queue's inbox, for one. */
export interface IdentityClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
}

export interface IdentityProviderOptions {
  users: IdentityUser[];
  clients: IdentityClient[];
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Where failures are logged (none: not logged). */
  logger?: Logger;
  /** How long a sign-in at the provider lasts before a password is asked again (default 8 h). */
  sessionSeconds?: number;
  /** Wrong passwords and codes allowed per user (default: 10 passwords, 5 codes per 15 minutes). */
  throttle?: Partial<SignInThrottleSettings>;
  /**
   * Requests per source address (an IPv6 address counts by its /64) and per sign-in, and password checks at once
   * (`DEFAULT_IDENTITY_LIMITS`: 30 authorizations and 30 sign-in posts per address, 10 posts per sign-in, a minute; 2
   * checks at once, 16 waiting). Past a limit the answer is 429 with `Retry-After`, reported as a refused sign-in.
   */
  limits?: Partial<IdentityLimits>;
  /**
   * How long a connection may take to send a request's headers, and its whole request, and how long an idle one is
   * kept (`DEFAULT_CONNECTION_TIMEOUTS`: 20 s, 30 s, 10 s, looked at every 5 s).
   */
  timeouts?: Partial<ConnectionTimeouts>;
  /** The bounds of the in-memory storage (`DEFAULT_MEMORY_ADAPTER`: 10,000 records per model, swept every minute). */
  storage?: Partial<Omit<MemoryAdapterOptions, 'now'>>;
  /** The clock of the throttle, the limits, the storage's expiry and the one-time codes (tests move it). */
  now?: () => number;
  /**
   * Told of every refused sign-in (a wrong password or code, a code used already, a user locked out), so the caller
   * audits it as it audits a refused API request, within the same budget per source address (docs/adr/0034).
   */
  onRefused?: (refusal: SignInRefusal) => void;
}

/**
 * A refused sign-in at the provider's own pages: the answer's status, why, the user name given (as typed, at most 200
 * characters; empty when none was read) and the address it came from. Besides wrong answers: a page of no sign-in under
 * way (an unknown or expired interaction, or another browser's), or a method the page does not take.
 */
export interface SignInRefusal {
  status: 400 | 401 | 403 | 405 | 413 | 429 | 503;
  method: string;
  path: string;
  reason: string;
  user: string;
  source: string;
}

export interface RunningIdentityProvider {
  /** The issuer: `http://<host>:<port>`; its discovery document is at `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  close(): Promise<void>;
}

/** What the provider asserts about a person: identity, display name, roles (the review queue reads `pii:view` from them). */
const SCOPES = ['openid', 'profile', 'roles'];

/**
 * A local OpenID Connect provider for the embedded mode, tests and local use, built on `oidc-provider` (a certified
 * implementation): authorization code with PKCE (S256, required), seeded users with roles, a TOTP second factor for
 * users enrolled in MFA (then `amr` includes `mfa`), and RP-initiated sign-out. Listens on loopback only by default.
 * Production points the review queue at any OIDC issuer instead; nothing here is needed there.
 *
 * Its grants, sessions and codes live in memory (`memoryAdapter`): a restart signs everyone out of the provider,
 * which a local provider may do; the review queue keeps its own sessions.
 */
export async function startIdentityProvider(options: IdentityProviderOptions): Promise<RunningIdentityProvider> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  // A browser sends its request at once: a connection trickling it (or idle between requests) is not held for Node's
  // defaults (60 s for headers, 300 s for a request), each holding a descriptor. Checked every `checkEveryMs` (read at
  // listen).
  const timeouts = { ...DEFAULT_CONNECTION_TIMEOUTS, ...options.timeouts };
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = timeouts.requestMs;
  server.keepAliveTimeout = timeouts.keepAliveMs;
  (server as typeof server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = timeouts.checkEveryMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`;
  const users = new Map(options.users.map((u) => [u.sub, u]));
  const now = options.now ?? Date.now;
  const storage = memoryAdapter({ ...options.storage, now });
  const provider = new Provider(issuer, ownRealm(configuration(users, options, storage)));
  // Users whose password was right and who still owe their one-time code, by interaction id (short-lived, like it).
  const awaitingCode = new Map<string, string>();
  const limits = { ...DEFAULT_IDENTITY_LIMITS, ...options.limits };
  // Its own server, so the services' cap on connections per address is set here too (slow headers held sockets), and a
  // cap on all its connections: an eighth of the process's budget, so that however many addresses hold sockets here the
  // API beside it (embedded) and the process's own files keep descriptors (red team, 2026-12-06).
  const budget = lesserServerBudget(openFilesLimit(), limits.connectionsPerAddress);
  if (budget.total !== undefined) server.maxConnections = budget.total;
  limitConnectionsPerSource(server, budget.perSource, options.logger, (r) => {
    try {
      options.onRefused?.({ status: 429, method: '', path: '', reason: r.message, user: '', source: r.source });
    } catch {
      // Reporting is the caller's.
    }
  });
  // CONNECT: without a listener Node destroyed the socket with no answer and nothing on the record (red team,
  // 2026-12-05). Answered 405 and reported as a refusal, as the services' servers do (libs/platform/nest http-refusals.ts).
  server.on('connect', (req: IncomingMessage, socket: Duplex & { remoteAddress?: string }) => {
    const reason = 'refused: CONNECT is not allowed: this server is not a proxy and opens no tunnels';
    const body = JSON.stringify({ statusCode: 405, error: 'Method Not Allowed', message: reason.slice('refused: '.length) });
    socket.end(
      'HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nAllow: GET, HEAD, POST\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
    (socket as Duplex & { destroySoon?: () => void }).destroySoon?.();
    try {
      options.onRefused?.({
        status: 405,
        method: 'CONNECT',
        path: '(another path)',
        reason,
        user: '',
        source: socket.remoteAddress ?? req.socket?.remoteAddress ?? 'unknown',
      });
    } catch {
      // Reporting is the caller's.
    }
  });
  // oidc-provider builds its endpoints (discovery's authorization_endpoint, jwks_uri, …) from the request's Host: a
  // request sent with `Host: evil.example` was told to sign in at http://evil.example/auth, under the right issuer (red
  // team, 2026-12-05). Every endpoint is the issuer's, whatever Host says: a cached or proxied discovery document cannot
  // send a browser elsewhere. (oidc-provider has no setting for it; Koa reads X-Forwarded-Host only behind `proxy`, off.)
  const issuerHost = new URL(issuer).host;
  const windows = (limit: number) => new RequestWindows(limit, limits.windowMs, limits.maxTracked, now);
  const signIn: SignIn = {
    users,
    awaitingCode,
    throttle: new SignInThrottle({ ...DEFAULT_SIGN_IN_THROTTLE, ...options.throttle }, now),
    devices: new DeviceCookies(now),
    postsPerAddress: windows(limits.signInPostsPerAddress),
    postsPerInteraction: windows(limits.signInPostsPerInteraction),
    hashes: new WorkQueue(limits.hashConcurrency, limits.hashQueue),
    knownHashes: new WorkQueue(1, limits.hashQueue),
    now,
    refused: reporter(options.onRefused),
  };
  // Each authorization started stores an interaction for ten minutes, whether its cookies are followed or not. Checked
  // in the provider's own middleware, before its router, on the path that router matches (an absolute-form request
  // target, `GET http://host/auth`, is routed there too).
  // Counted per address, and in all: an attacker sending from many addresses (any of 127.0.0.0/8 on this host, a botnet)
  // passes every per-address count, and filled the interactions' store until it evicted the sign-ins of real people
  // (red team, 2026-12-06). The count in all bounds what is stored: `authorizationsInAll` a window, each kept ten minutes.
  // A browser someone signed in from before (its device cookie) is counted on its own instead of in all: a flood from
  // many addresses kept every reviewer from signing in (red team, 2026-12-08); it keeps out new browsers only.
  const authorizationsPerAddress = windows(limits.authorizationsPerAddress);
  const authorizationsInAll = windows(limits.authorizationsInAll);
  const authorizationsPerDevice = windows(limits.authorizationsPerAddress);
  provider.use(async (ctx, next) => {
    if (!isAuthorization(ctx.path)) return next();
    const fromHere = authorizationsPerAddress.take(sourceOf(ctx.req.socket.remoteAddress ?? 'unknown'));
    const device = signIn.devices.knownDevice(ctx.req.headers.cookie);
    const wait = fromHere ?? (device ? authorizationsPerDevice.take(device) : authorizationsInAll.take(ALL));
    if (wait === undefined) return next();
    const [reason, problem] =
      fromHere === undefined
        ? ['sign-in refused: too many sign-ins started from all addresses', 'Too many sign-ins are being started right now']
        : ['sign-in refused: too many sign-ins started from this address', 'Too many sign-ins were started from your address'];
    signIn.refused({ status: 429, path: '/auth', reason, user: '' }, ctx.req);
    ctx.status = 429;
    ctx.type = 'html';
    ctx.body = html('Too many sign-ins', `<p role="alert" class="problem">${esc(`${problem}: try again in ${retryAfter(ctx.res, wait)} seconds.`)}</p>`);
  });
  // What the provider answers as a bare `server_error` is logged here with its cause.
  provider.on('server_error', (_ctx: unknown, err: Error) => options.logger?.error({ err }, 'the identity provider failed a request'));
  // What its endpoints refuse (a wrong client secret at /token, a forged access token at /me, an unknown client at
  // /auth) is on the record too, as the sign-in pages' refusals are: guessing the inbox's secret left none (red team,
  // 2026-12-06). The reason is oidc-provider's error code and fixed description, never a parameter's value.
  for (const event of ENDPOINT_ERRORS) {
    provider.on(event, (ctx: KoaContextWithOIDC, err: { error?: string; error_description?: string }) =>
      signIn.refused({ status: refusalStatus(ctx.status), path: endpointOf(ctx.req.url), reason: endpointRefusal(err), user: '' }, ctx.req),
    );
  }
  const callback = provider.callback();
  const requestsPerAddress = windows(limits.requestsPerAddress);
  const requestsInAll = windows(limits.requestsInAll);
  const requestsPerDevice = windows(limits.requestsPerAddress);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    sourceAddresses.set(req, req.socket.remoteAddress ?? 'unknown');
    setSecurityHeaders(res);
    // Every request counts, before any work, so no endpoint (the token, user info and sign-out ones have no limit of
    // their own) can be asked without bound from one address, nor from all of them.
    // A registered client's own token exchange (client_secret_basic) is not counted by the address it comes from: the
    // review queue exchanges every callback's code from its one address, and an outsider replaying callbacks at it
    // used up that address's count, so no reviewer's code could be exchanged (red team, 2026-12-08). The review queue
    // bounds the callbacks it takes per address of its own.
    const client = clientExchange(req, options.clients);
    const fromHere = client ? undefined : requestsPerAddress.take(sourceOf(req.socket.remoteAddress ?? 'unknown'));
    const device = signIn.devices.knownDevice(req.headers.cookie);
    const wait = client ? undefined : (fromHere ?? (device ? requestsPerDevice.take(device) : requestsInAll.take(ALL)));
    if (wait !== undefined) {
      const [reason, problem] =
        fromHere === undefined
          ? ['refused: too many requests from all addresses', 'Too many requests right now']
          : ['refused: too many requests from this address', 'Too many requests from your address'];
      signIn.refused({ status: 429, path: endpointOf(req.url), reason, user: '' }, req);
      return page(res, 429, 'Too many requests', `<p role="alert" class="problem">${esc(`${problem}: try again in ${retryAfter(res, wait)} seconds.`)}</p>`);
    }
    req.headers.host = issuerHost;
    const m = /^\/interaction\/([\w-]+)(?:\/(login|code))?$/.exec((req.url ?? '').split('?')[0]);
    if (!m) return void callback(req, res);
    interaction(provider, signIn, req, res, m[1], m[2]).catch((e: Error) => {
      if (e instanceof FormTooLarge) {
        signIn.refused({ status: 413, path: pathOf(m), reason: `sign-in refused: ${e.message}`, user: '' }, req);
        return page(res, 413, 'Sign-in failed', `<p>${esc(e.message)}</p>`);
      }
      // oidc-provider's own refusal (no sign-in under way with this browser, or it expired): audited like the others.
      signIn.refused(
        { status: 400, path: pathOf(m), reason: 'sign-in refused: no sign-in under way for this page (unknown, expired or ended)', user: '' },
        req,
      );
      page(res, 400, 'Sign-in failed', `<p>${esc(e.message)}</p>`);
    });
  });
  return {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        storage.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** oidc-provider's events for a request its endpoints refused (`error_handler.js`; `server_error` is logged instead). */
const ENDPOINT_ERRORS = [
  'authorization.error',
  'grant.error',
  'userinfo.error',
  'jwks.error',
  'discovery.error',
  'end_session.error',
  'end_session_confirm.error',
];

/** A refusal's status as `SignInRefusal` names it (oidc-provider answers 400 or 401 to what it refuses). */
const refusalStatus = (status: number): SignInRefusal['status'] => ([400, 401, 403, 405, 413, 429, 503] as const).find((s) => s === status) ?? 400;

/**
 * Why an endpoint refused, as the record says it: oidc-provider's error code (`invalid_client`, `invalid_token`, …) and
 * its description, each of a fixed few characters (never free text the caller chose, which masking would then meet).
 */
function endpointRefusal(err: { error?: string; error_description?: string }): string {
  const code = /^[a-z_]{1,40}$/.test(err.error ?? '') ? err.error : 'invalid_request';
  const description = (err.error_description ?? '').replace(/[^\w .,:;'()/-]/g, '').slice(0, 120);
  return `refused: ${code}${description ? `: ${description}` : ''}`;
}

/**
 * Each request's source address, as it arrived: a request whose body was given up on (a form too large) has no socket
 * any more, and its refusal threw as it was reported, so it was never on the record.
 */
const sourceAddresses = new WeakMap<IncomingMessage, string>();

/** The key of the counts over all addresses. */
const ALL = '*';
/** How long a request's headers, and the whole request, may take to arrive; how long an idle connection is kept. */
export interface ConnectionTimeouts {
  headersMs: number;
  requestMs: number;
  keepAliveMs: number;
  /** How often Node looks for connections past `headersMs` or `requestMs`. */
  checkEveryMs: number;
}

export const DEFAULT_CONNECTION_TIMEOUTS: ConnectionTimeouts = { headersMs: 20_000, requestMs: 30_000, keepAliveMs: 10_000, checkEveryMs: 5_000 };

/**
 * The authorization endpoint as oidc-provider's router matches `ctx.path`: case-insensitive, a trailing slash allowed
 * (not `/auth/<uid>`, where a finished sign-in resumes).
 */
const isAuthorization = (path: string) => /^\/auth\/?$/i.test(path);

/** Which endpoint a request target names, as a refusal's record says it: one of a fixed few, never the caller's own text. */
function endpointOf(url = '/'): string {
  const path = url.split('?')[0];
  if (path.startsWith('/interaction/')) return '/interaction';
  const known = ['/auth', '/token', '/me', '/session/end', '/jwks', '/.well-known/openid-configuration'];
  return known.find((k) => path === k || path.startsWith(`${k}/`)) ?? '(another path)';
}

/** Sets `Retry-After` (whole seconds, at least one) and returns it. */
function retryAfter(res: ServerResponse, waitMs: number): number {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  res.setHeader('Retry-After', String(seconds));
  return seconds;
}

/**
 * The configuration rebuilt of objects of oidc-provider's own realm: it merges its defaults only into objects whose
 * constructor is its `Object`, and under Jest this module's object literals come from the test's realm (a config
 * section would then replace the defaults instead of completing them). Outside Jest this is a plain copy.
 */
function ownRealm<T>(value: T): T {
  let root: object = Provider.prototype;
  while (Object.getPrototypeOf(root)) root = Object.getPrototypeOf(root) as object;
  const RealmObject = (root as { constructor: ObjectConstructor }).constructor;
  const copy = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(copy);
    if (v && typeof v === 'object' && Object.getPrototypeOf(v)?.constructor?.name === 'Object') {
      return Object.assign(new RealmObject(), Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)])));
    }
    return v;
  };
  return copy(value) as T;
}

let processSigningKey: Record<string, unknown> | undefined;

/**
 * The provider's ID-token signing key (RS256, what every relying party accepts by default): made at the first start in
 * this process, and kept in memory only. A process runs one provider; a test process that starts many paid 80–1,500 ms of
 * CPU each time for an RSA key (the costliest part of an embedded start), so the key is made once per process. Each
 * provider has its own issuer (URL), which every relying party checks, so a token of one is no token of another.
 */
function signingKey() {
  processSigningKey ??= { ...newKeyPair('rsa').privateKey.export({ format: 'jwk' }), kid: `local-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };
  return { ...processSigningKey };
}

function configuration(users: Map<string, IdentityUser>, options: IdentityProviderOptions, storage: MemoryAdapter): Configuration {
  const jwk = signingKey();
  return {
    adapter: storage.factory,
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      post_logout_redirect_uris: c.postLogoutRedirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [jwk as never] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: SCOPES,
    // `roles` is asked for as a scope and lands in the ID token (not only at the userinfo endpoint): the review queue
    // decides who may do what from the token it verified at sign-in. `amr` and `auth_time` go with `openid`: how and
    // when the person authenticated, which the review queue's step-up for critical approvals reads (oidc-provider puts
    // in the ID token only the claims a scope names).
    // `tenants` rides with `roles`: both say what the person may reach, and a provider that sent one without the other
    // would sign in a tenant's reviewer as a reviewer of every tenant (ADR 0052).
    claims: { openid: ['sub', 'amr', 'auth_time'], profile: ['name', 'preferred_username'], roles: ['roles', 'tenants'] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true, logoutSource } },
    ttl: { Session: options.sessionSeconds ?? 8 * 3600, Interaction: 600, AuthorizationCode: 60, IdToken: 600, AccessToken: 600, Grant: 8 * 3600 },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // The review queue is a first-party client: the person is not asked to consent to what it reads (their identity
    // and roles); a grant for the scopes it asks is made on the spot.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId });
      grant.addOIDCScope(SCOPES.join(' '));
      await grant.save();
      return grant;
    },
    findAccount: async (_ctx, sub) => {
      const user = users.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, name: user.name, preferred_username: sub, roles: user.roles, ...(user.tenants && { tenants: user.tenants }) }),
      };
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = html('Sign-in error', `<p>${esc(String(out.error))}: ${esc(String(out.error_description ?? ''))}</p>`);
    },
  };
}

/** What the sign-in pages keep: the users, who still owes a code (by interaction), and the throttle. */
interface SignIn {
  users: Map<string, IdentityUser>;
  /** Users whose password was right and who still owe their one-time code, by interaction id (short-lived, like it). */
  awaitingCode: Map<string, string>;
  throttle: SignInThrottle;
  /** The browsers people signed in from: their wrong passwords are counted apart (`DeviceCookies`). */
  devices: DeviceCookies;
  /** Password and code posts per source address, and per sign-in. */
  postsPerAddress: RequestWindows;
  postsPerInteraction: RequestWindows;
  /** The password checks, a few at once; those of a browser signing in as the person it signed in as before, apart. */
  hashes: WorkQueue;
  knownHashes: WorkQueue;
  now: () => number;
  refused: (refusal: Omit<SignInRefusal, 'source' | 'method'>, req: IncomingMessage) => void;
}

/** The path of a sign-in page as matched (its interaction id and step). */
const pathOf = (m: RegExpExecArray) => `/interaction/${m[1]}${m[2] ? `/${m[2]}` : ''}`;

/** `onRefused` with the request's method and source address; a failure there does not change the answer to the person signing in. */
function reporter(onRefused: IdentityProviderOptions['onRefused']): SignIn['refused'] {
  if (!onRefused) return () => undefined;
  return (refusal, req) => {
    try {
      onRefused({ ...refusal, method: (req.method ?? 'POST').slice(0, 20), source: sourceAddresses.get(req) ?? req.socket?.remoteAddress ?? 'unknown' });
    } catch {
      // Reporting is the caller's: the person signing in gets their answer whatever happens there.
    }
  };
}

/**
 * The provider's own sign-in pages: the password, then the one-time code of users enrolled in MFA. Wrong answers are
 * limited per user, and a code works once (`SignInThrottle`): past the limit the page answers 429 until the window
 * passes, right answer or not, and a user owing a code starts again from the password. Posts are limited per source
 * address and per sign-in (a new user name each time escapes the per-user limit), and password checks run a few at once.
 */
async function interaction(provider: Provider, s: SignIn, req: IncomingMessage, res: ServerResponse, uid: string, step?: string): Promise<void> {
  const here = `/interaction/${uid}${step ? `/${step}` : ''}`;
  const form = (problem?: string) => (step === 'code' ? codeForm(uid, problem) : loginForm(uid, problem));
  // Counted before any work (even a sign-in's lookup), so a flood from one address costs next to nothing.
  const addressWait = step ? s.postsPerAddress.take(sourceOf(req.socket.remoteAddress ?? 'unknown')) : undefined;
  if (addressWait !== undefined) {
    s.refused({ status: 429, path: here, reason: 'sign-in refused: too many sign-in attempts from this address', user: '' }, req);
    return page(res, 429, 'Sign in', form(`Too many sign-in attempts from your address: try again in ${retryAfter(res, addressWait)} seconds.`));
  }
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    s.refused({ status: 400, path: here, reason: 'sign-in refused: the page belongs to another sign-in', user: '' }, req);
    return page(res, 400, 'Sign-in failed', '<p>This sign-in page belongs to another sign-in. Start again.</p>');
  }
  // Counted only for a sign-in of this browser: nobody else's posts use up a person's attempts.
  const interactionWait = step ? s.postsPerInteraction.take(uid) : undefined;
  if (interactionWait !== undefined) {
    s.refused({ status: 429, path: here, reason: 'sign-in refused: too many attempts for this sign-in', user: '' }, req);
    return page(res, 429, 'Sign in', form(`Too many attempts for this sign-in: try again in ${retryAfter(res, interactionWait)} seconds.`));
  }
  if (req.method === 'GET' && !step) return page(res, 200, 'Sign in', loginForm(uid));
  if (req.method !== 'POST') {
    s.refused({ status: 405, path: here, reason: `sign-in refused: ${(req.method ?? '').slice(0, 20)} is not allowed here`, user: '' }, req);
    return page(res, 405, 'Sign-in failed', '<p>Method not allowed.</p>');
  }
  const body = new URLSearchParams(await readBody(req));
  const tooMany = (until: number) => `Too many wrong attempts for this user: try again after ${new Date(until).toISOString().slice(11, 16)} UTC.`;
  if (step === 'login') {
    const name = (body.get('username') ?? '').slice(0, 200);
    // A browser this person signed in from before is counted on its own: others' guesses do not lock them out of it.
    const device = s.devices.deviceOf(req.headers.cookie, name);
    const counted = device ? `${name}\u0000${device}` : name;
    const locked = s.throttle.lockedUntil('password', counted);
    if (locked) {
      s.refused({ status: 429, path: `/interaction/${uid}/login`, reason: 'sign-in refused: too many wrong passwords for this user', user: name }, req);
      return page(res, 429, 'Sign in', loginForm(uid, tooMany(locked)));
    }
    const user = s.users.get(name);
    // One answer for an unknown user and a wrong password, in the same time: nothing tells which names exist.
    // A browser this person signed in from before checks in a lane of its own: posts under random user names filled the
    // shared queue, and four of six sign-ins of a reviewer with her device cookie got 503 (red team, 2026-12-08).
    const checked = (device ? s.knownHashes : s.hashes).run(() => checkUserPassword(user, body.get('password') ?? ''));
    if (!checked) {
      s.refused({ status: 503, path: here, reason: 'sign-in refused: too many password checks under way', user: name }, req);
      res.setHeader('Retry-After', '1');
      return page(res, 503, 'Sign in', loginForm(uid, 'Too many sign-ins are being checked right now: try again in a moment.'));
    }
    const matches = await checked;
    if (!user || !matches) {
      s.throttle.failed('password', counted, user !== undefined);
      s.refused({ status: 401, path: `/interaction/${uid}/login`, reason: 'sign-in refused: wrong user name or password', user: name }, req);
      return page(res, 401, 'Sign in', loginForm(uid, 'Wrong user name or password.'));
    }
    s.throttle.passed(counted);
    if (user.totpSecret) {
      s.awaitingCode.set(uid, user.sub);
      setTimeout(() => s.awaitingCode.delete(uid), 600_000).unref();
      return page(res, 200, 'One-time code', codeForm(uid));
    }
    res.appendHeader('Set-Cookie', s.devices.issue(user.sub));
    return finish(provider, req, res, user.sub, ['pwd']);
  }
  const sub = s.awaitingCode.get(uid);
  const user = sub ? s.users.get(sub) : undefined;
  if (!user?.totpSecret) return page(res, 400, 'Sign in', loginForm(uid, 'Start with your user name and password.'));
  const locked = s.throttle.lockedUntil('code', user.sub);
  if (locked) {
    s.awaitingCode.delete(uid);
    s.refused({ status: 429, path: `/interaction/${uid}/code`, reason: 'sign-in refused: too many wrong one-time codes for this user', user: user.sub }, req);
    return page(res, 429, 'Sign in', loginForm(uid, tooMany(locked)));
  }
  const matched = totpStep(user.totpSecret, body.get('code') ?? '', s.now());
  if (matched === undefined) {
    s.throttle.failed('code', user.sub);
    s.refused({ status: 401, path: `/interaction/${uid}/code`, reason: 'sign-in refused: wrong one-time code', user: user.sub }, req);
    return page(res, 401, 'One-time code', codeForm(uid, 'Wrong code.'));
  }
  if (!s.throttle.useStep(user.sub, matched)) {
    s.throttle.failed('code', user.sub);
    s.refused({ status: 401, path: `/interaction/${uid}/code`, reason: 'sign-in refused: a one-time code used already', user: user.sub }, req);
    return page(res, 401, 'One-time code', codeForm(uid, 'This code was used already: wait for the next one.'));
  }
  s.awaitingCode.delete(uid);
  res.appendHeader('Set-Cookie', s.devices.issue(user.sub));
  return finish(provider, req, res, user.sub, ['pwd', 'otp', 'mfa']);
}

const finish = (provider: Provider, req: IncomingMessage, res: ServerResponse, accountId: string, amr: string[]) =>
  provider.interactionFinished(req, res, { login: { accountId, amr, remember: false } }, { mergeWithLastSubmission: false });

/** The longest sign-in form read: a user name, a password or a code. */
const FORM_MAX = 8192;

/** A sign-in form past `FORM_MAX`: refused for that (it was recorded as "no sign-in under way", red team 2026-12-06). */
class FormTooLarge extends Error {
  constructor() {
    super(`the form is too large: at most ${FORM_MAX} characters`);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > FORM_MAX) throw new FormTooLarge();
  }
  return body;
}

const loginForm = (uid: string, problem?: string) => `
  ${problem ? `<p role="alert" class="problem">${esc(problem)}</p>` : ''}
  <form method="post" action="/interaction/${esc(uid)}/login">
    <label for="username">User name</label>
    <input id="username" name="username" autocomplete="username" required autofocus>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit">Sign in</button>
  </form>`;

const codeForm = (uid: string, problem?: string) => `
  ${problem ? `<p role="alert" class="problem">${esc(problem)}</p>` : ''}
  <form method="post" action="/interaction/${esc(uid)}/code">
    <label for="code">One-time code from your authenticator</label>
    <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required autofocus>
    <button type="submit">Continue</button>
  </form>`;

async function logoutSource(ctx: KoaContextWithOIDC, form: string) {
  ctx.type = 'html';
  ctx.body = html(
    'Sign out',
    // One way out: the inbox's sign-out ends both sessions (a "stay signed in here" choice left the provider's session
    // open, and the next visit to the inbox signed the same person in again without a password). No script runs
    // here, so the form is confirmed with one click.
    `${form}<p>Signing out ends your session with the inbox and with the Countersign identity provider.</p>
     <button type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button>`,
  );
}

function page(res: ServerResponse, status: number, title: string, body: string) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(html(title, body));
}

/**
 * The one script these pages run: oidc-provider's own auto-submit of the form that ends one person's session when
 * another signs in over it (`resume`, `form_post`). oidc-provider adds the hash of the script it writes to a
 * `script-src` it finds; without the directive the page stopped at "Submitting Callback" (sessions probe, 2026-12-06:
 * signing in as bob in a browser that had signed in as alice). This is the hash of that script as oidc-provider 8
 * writes it; another version's is added by oidc-provider itself.
 */
const FORM_POST_SCRIPT = `
    document.addEventListener('DOMContentLoaded', function () { document.forms[0].submit() });
  `;
const SCRIPT_SRC = `script-src 'sha256-${createHash('sha256').update(FORM_POST_SCRIPT).digest('base64')}'`;

// No other script on these pages, nothing loaded from elsewhere; no `form-action`, which would block the redirect back
// to the relying party after the form.
function setSecurityHeaders(res: ServerResponse) {
  res.setHeader('Content-Security-Policy', `default-src 'none'; ${SCRIPT_SRC}; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'`);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
}

const html = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Countersign</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1a1a1a;margin:0}
main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 3px #0003}
label{display:block;margin-top:1rem;font-weight:600}input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1.25rem;padding:.6rem 1rem;font-size:1rem;background:#1d4ed8;color:#fff;border:0;border-radius:4px;cursor:pointer}
.problem{color:#9b1c1c;font-weight:600}
</style></head>
<body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;

export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Whether `req` is a registered client's token exchange: `POST /token` with HTTP Basic credentials (RFC 6749 §2.3.1:
 * each part form-encoded) that are one of `clients`', compared in constant time. Anything else is counted as any request.
 */
export function clientExchange(req: IncomingMessage, clients: IdentityClient[]): boolean {
  if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/token') return false;
  const m = /^Basic ([A-Za-z0-9+/]+={0,2})$/.exec(String(req.headers.authorization ?? ''));
  if (!m) return false;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const at = text.indexOf(':');
  if (at < 0) return false;
  let id: string;
  let secret: string;
  try {
    id = decodeURIComponent(text.slice(0, at).replace(/\+/g, ' '));
    secret = decodeURIComponent(text.slice(at + 1).replace(/\+/g, ' '));
  } catch {
    return false;
  }
  const given = createHash('sha256').update(secret).digest();
  return clients.some((c) => c.clientId === id && timingSafeEqual(createHash('sha256').update(c.clientSecret).digest(), given));
}
