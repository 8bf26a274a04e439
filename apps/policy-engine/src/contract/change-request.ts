import type { Actor } from '@countersign/contracts';
import type { ChangeKind } from '@countersign/policy';

/** Where a change request stands. `expired` is never stored: a pending request past `expiresAt` reads so. */
/** `superseded`: a contract change still pending while another version runs than the one it was requested against (it can no longer be approved; its requester may withdraw it or another admin reject it). */
export type ChangeStatus = 'pending' | 'approved' | 'rejected' | 'withdrawn' | 'expired' | 'superseded';

/** How a pending request ends: approved or rejected by another admin, withdrawn by its requester. */
export type ChangeOutcome = 'approved' | 'rejected' | 'withdrawn';

/** `countersign policy diff` of the running contract against the candidate, over a corpus of proposals. */
export interface ChangeDiff {
  /** The corpus file's name. */
  corpus: string;
  total: number;
  changed: number;
  /** The lines the CLI prints, masked. */
  output: string;
}

/**
 * A change to what Countersign lets run, asked for by one authenticated admin and approved by another.
 * Shared by every policy-engine instance (PostgreSQL). `contract`: a new contract version (this folder);
 * `autonomy`: a raise of a kill switch or an autonomy flag (apps/policy-engine/src/autonomy).
 */
export type ChangeRequest = ContractChangeRequest | AutonomyChangeRequest;

/** A raise of one flag, from the approved value the request was made against. */
export interface AutonomyRaise {
  flag: string;
  actionType: string;
  control: 'kill-switch' | 'autonomy';
  from: string;
  to: string;
}

export interface AutonomyChangeRequest extends ChangeRequestCommon {
  kind: 'autonomy';
  autonomy: AutonomyRaise;
}

export interface ContractChangeRequest extends ChangeRequestCommon {
  kind: 'contract';
  contract: { fromVersion: string; fromHash: string; toVersion: string; toHash: string; text: string };
  diff: ChangeDiff;
}

interface ChangeRequestCommon {
  id: string;
  kind: ChangeKind;
  status: Exclude<ChangeStatus, 'expired' | 'superseded'>;
  /** What the approval must name (libs/policy `changeDigest`). */
  digest: string;
  /**
   * The state the change starts from (`contract:<hash>`): of the requests made against one state, only one
   * is approved, so two admins approving two rival changes at once cannot both believe theirs is live.
   */
  base: string;
  reason: string;
  requestedBy: Actor;
  createdAt: string;
  expiresAt: string;
  /** Who decided it: the admin who approved or rejected it, or the requester who withdrew it. */
  decider?: Actor;
  decisionReason?: string;
  decidedAt?: string;
}

/** Ends a pending request. */
export interface ChangeDecision {
  outcome: ChangeOutcome;
  by: Actor;
  reason: string;
  at: Date;
}

/** The result of `decide`: the request as decided, or why it could not be. */
export type DecideResult =
  | { ok: true; request: ChangeRequest }
  | { ok: false; conflict: 'unknown' | 'not-pending' | 'expired' }
  /** Another request on the same base was approved a moment ago (`holder`). */
  | { ok: false; conflict: 'base-taken'; holder: string };

/** The change requests every policy-engine instance shares. PostgreSQL in production. */
export interface ChangeRequestStore {
  /** Stores a new request (ids are fresh: an id already stored is refused with an error). */
  create(request: ChangeRequest): Promise<void>;
  get(id: string): Promise<ChangeRequest | undefined>;
  /** The most recent requests first. */
  list(limit: number): Promise<ChangeRequest[]>;
  /**
   * How many requests made against `base` are pending and not expired at `now`, in all and by `requester`: what the caps
   * on pending requests count (a request against another base is superseded: it can no longer be approved).
   */
  pendingCount(base: string, requester: string, now: Date): Promise<{ total: number; byRequester: number }>;
  /**
   * Ends a pending request that has not expired at `decision.at`, atomically: of two admins deciding at
   * once, one wins. An approval also claims the request's base for a while (see `ChangeRequest.base`).
   */
  decide(id: string, decision: ChangeDecision): Promise<DecideResult>;
}

/**
 * How long an approval holds its base against rival approvals: long enough for every instance to apply
 * the change, after which the running version no longer matches the rivals' base anyway.
 */
export const BASE_CLAIM_MS = 15 * 60_000;

/** What a request reads as at `now`: a pending request past its expiry is expired. */
export const statusAt = (r: ChangeRequest, now: Date): ChangeStatus =>
  r.status === 'pending' && now.getTime() >= Date.parse(r.expiresAt) ? 'expired' : r.status;

/** What the API shows of any change request, whatever it changes (each kind adds its own part). */
export const requestView = (r: ChangeRequest, now: Date) => ({
  id: r.id,
  kind: r.kind,
  status: statusAt(r, now),
  /** What an approval must name. */
  digest: r.digest,
  reason: r.reason,
  requestedBy: r.requestedBy.id,
  createdAt: r.createdAt,
  expiresAt: r.expiresAt,
  ...(r.decider && { decider: r.decider.id, decisionReason: r.decisionReason, decidedAt: r.decidedAt }),
});
