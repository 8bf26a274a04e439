// The port of the inbox's server-side sessions: signed-in reviewers, and sign-ins on their way through the identity
// provider. Adapters: `redis-session.store.ts` (distributed: shared by every instance), `in-memory-session.store.ts`
// (embedded: one process).
import type { Principal } from '@countersign/nest';

/** A reviewer signed in through OpenID Connect. The cookie holds only the session id; the store keys it by its hash. */
export interface ReviewerSession {
  kind: 'session';
  principal: Principal;
  name: string;
  /** How the identity provider authenticated them (`pwd`, `mfa`, …): a step-up reads it. */
  amr: string[];
  /** When the identity provider last authenticated them (ms since the epoch; the ID token's `auth_time`, else the sign-in's time). */
  authTime?: number;
  /** Sent back to the provider at sign-out (`id_token_hint`). */
  idToken: string;
  /** The token every state-changing request must carry (`X-CSRF-Token`). */
  csrf: string;
  createdAt: number;
  lastSeenAt: number;
  /**
   * The tenants the tokens file bound them to when they signed in, if it did: the session keeps that binding if their
   * entry goes from the file, so taking an entry away never widens what an open session reaches (revocation probe).
   */
  boundAtSignIn?: string[];
}

/** A sign-in sent to the identity provider and not yet back: what the callback must find to accept its answer. */
export interface PendingSignIn {
  kind: 'pending';
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Where to go once signed in (a path of the inbox). */
  returnTo: string;
  /** When it began (ms since the epoch): the person must authenticate after it (`OidcSignIn.finish`). Absent: stored before. */
  startedAt?: number;
}

export type SessionRecord = ReviewerSession | PendingSignIn;

export interface SessionStore {
  /** Stores `record` under `key` until `expiresAt` (ms since the epoch), replacing what was there. */
  set(key: string, record: SessionRecord, expiresAt: number): Promise<void>;
  /**
   * Replaces the record under `key` only while one is there (not deleted, not expired): a request that read a session
   * before its sign-out never writes it back after. Returns whether it replaced one.
   */
  touch(key: string, record: SessionRecord, expiresAt: number): Promise<boolean>;
  /** The record, or undefined when unknown or past its expiry. */
  get(key: string): Promise<SessionRecord | undefined>;
  delete(key: string): Promise<void>;
}
