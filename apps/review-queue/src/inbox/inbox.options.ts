import type { SessionStore } from './session.store';

/** A value known at boot, or only once a server listens (the embedded mode on a free port). */
export type Late<T> = T | (() => T);
export const resolve = <T>(v: Late<T>): T => (typeof v === 'function' ? (v as () => T)() : v);

/** The reviewer inbox (`/reviews`): where reviewers sign in (OpenID Connect) and how their sessions behave. */
export interface InboxOptions {
  /** The OpenID Connect issuer (discovery at `<issuer>/.well-known/openid-configuration`). */
  issuer: Late<string>;
  clientId: string;
  clientSecret: string;
  /** The review queue's address as browsers reach it: the redirect URI is `<publicUrl>/auth/callback`; https makes cookies Secure. */
  publicUrl: Late<string>;
  sessions: SessionStore;
  /**
   * The 256-bit key that seals a sign-in on its way through the provider into its own cookie (`Sessions.remember`): the
   * same on every instance, so the provider's answer may reach any of them. The review queue derives it from its data
   * key; absent (a test that builds sessions alone), a key of this process.
   */
  signInKey?: Buffer;
  /** Signed out after this long without a request (default 15 min). */
  idleTimeoutMs?: number;
  /** Signed out after this long whatever happens (default 12 h). */
  maxSessionMs?: number;
  /** How often the inbox looks for arrived, decided and expired items while someone watches (default 1 s). */
  feedPeriodMs?: number;
}
