import { z } from 'zod';
import { ActorSchema } from '../envelope';
import { freeTextString } from '../text';
import { ProposalSchema } from './proposal';

export * from './proposal';

export const LaneSchema = z.enum(['autonomous', 'review', 'prohibited']);
/** The three lanes of the operational contract. */
export type Lane = z.infer<typeof LaneSchema>;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/** `agent.proposal.submitted.v1`: a proposal produced straight to Kafka by an agent. */
export const ProposalSubmittedV1 = ProposalSchema;

/** `orchestrator.action.proposed.v1`: a proposal accepted by the orchestrator, now an action. */
export const ActionProposedV1 = z.object({
  proposal: ProposalSchema,
  receivedVia: z.enum(['http', 'kafka']),
  idempotencyKey: z.string().max(200).optional(),
});

/** `policy.decision.made.v1`: the lane the operational contract gives the action, and why. */
export const PolicyDecidedV1 = z.object({
  lane: LaneSchema,
  reasons: z.array(z.string()).min(1),
  rulesFired: z.array(z.string()),
  contractVersion: z.string().min(1),
  contractHash: z.string().min(1),
  score: z.number(),
  /** SHA-256 over the canonical JSON of what would be done; approvals are bound to it. */
  digest: sha256Hex,
  proposal: ProposalSchema,
  /** The principal that proposed the action: it can never approve it. */
  proposerPrincipal: z.string().min(1),
  review: z
    .object({
      slaClass: z.string(),
      slaSeconds: z.number().int().positive(),
      requiredRoles: z.array(z.string()),
      quorum: z.number().int().positive(),
    })
    .optional(),
  sampledForAudit: z.boolean().default(false),
  /** Which input decided (the highest-precedence one that demanded the lane). */
  decidedBy: z.enum(['prohibited-rule', 'kill-switch', 'degradation', 'trust-stack', 'autonomy', 'contract']).optional(),
  riskClass: z.enum(['low', 'medium', 'high']).optional(),
  /** Blocked for now by a degradation mode: the agent may retry later. */
  retryLater: z.boolean().optional(),
});

/** `review.decision.made.v1`: a human approved or rejected a review item (or it expired). */
export const ReviewDecidedV1 = z.object({
  decision: z.enum(['approved', 'rejected', 'expired']),
  reviewers: z.array(ActorSchema).min(1),
  reason: freeTextString().min(1).max(2000),
  digest: sha256Hex,
  /**
   * The review queue's signed decision token (`cs1`, libs/approval), bound to the action id, the digest
   * and this decision. Every decision carries one; consumers verify it before acting on the decision.
   */
  signature: z.string().max(8192).optional(),
  /** The same token under its older name, as review queues before signed rejections sent approvals. */
  approval: z.string().max(8192).optional(),
  /** Exactly what the deciding reviewer was shown (the review item as the API served it) … */
  shown: z.record(z.string(), z.unknown()).optional(),
  /** … and its SHA-256 over canonical JSON, which the reviewer's client echoed back. */
  shownDigest: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

/**
 * How an unknown outcome was settled by the executor's reconciler: `resend` (sent again under the same
 * Idempotency-Key to a target that applies an action once per key), `status` (the target was asked), `person`
 * (a reviewer answered "did this happen?"). `attempt`: the reconciler's attempts on this action so far.
 */
export const ReconciliationSchema = z.object({
  method: z.enum(['resend', 'status', 'person']),
  attempt: z.number().int().positive(),
});

/** `execution.action.executed.v1`: the connector carried the action out. */
export const ActionExecutedV1 = z.object({
  connector: z.string(),
  digest: sha256Hex,
  authorisedBy: z.enum(['autonomous-decision', 'approval']),
  externalRequestId: z.string().optional(),
  /** How many requests carried the action to the target, all under its idempotency key (2: the connector sent it once more on a dropped connection). */
  attempt: z.number().int().positive(),
  /** Set when the outcome was unknown and the reconciler settled it. */
  reconciliation: ReconciliationSchema.optional(),
});

/** `execution.action.failed.v1`: the connector failed, or the outcome is unknown after a crash. */
export const ActionFailedV1 = z.object({
  outcome: z.enum(['failed', 'outcome_unknown']),
  connector: z.string(),
  digest: sha256Hex,
  error: z.string(),
  /** Set on a step of the reconciler: an attempt that left the outcome unknown, or the failure it settled on. */
  reconciliation: ReconciliationSchema.optional(),
});

/** `execution.action.refused.v1`: the executor refused to act (kill switch, no authorisation, bad approval). */
export const ActionRefusedV1 = z.object({
  code: z.enum([
    'kill-switch-off',
    'flag-unknown',
    'not-authorised',
    'invalid-approval',
    'approval-for-other-action',
    'digest-mismatch',
    'approval-replayed',
    'invalid-decision',
    'decision-for-other-action',
    'decision-mismatch',
  ]),
  reason: z.string(),
  /** True when the refusal looks like an attack (a forged, misdirected or mismatched review decision). */
  suspicious: z.boolean().default(false),
});

/** `security.request.rejected.v1`: an API request was refused (bad input, auth, self-approval). */
export const RequestRejectedV1 = z.object({
  service: z.string(),
  method: z.string(),
  path: z.string(),
  status: z.number().int().min(400).max(599),
  reason: z.string(),
  principal: z.string().nullable(),
});

/** `<topic>.dlq`: a message that could not be handled, with the reason and the raw bytes. */
export const DeadLetteredV1 = z.object({
  topic: z.string(),
  partition: z.number().int().nullable(),
  offset: z.string().nullable(),
  consumerGroup: z.string(),
  reason: z.string(),
  /** The original value as UTF-8 (truncated to 4 KiB) and its size in bytes. */
  rawPreview: z.string(),
  rawBytes: z.number().int().nonnegative(),
  key: z.string().nullable(),
});

/** `audit.tree-head.published.v1`: a signed tree head of the audit log (RFC 6962 root, Ed25519). */
export const TreeHeadPublishedV1 = z.object({
  treeSize: z.number().int().positive(),
  rootHash: z.string().regex(/^[0-9a-f]{64}$/),
  timestamp: z.iso.datetime({ offset: true }),
  keyId: z.string().min(1),
  signature: z.string().min(1),
});

/**
 * `policy.contract.changed.v1`: an approved new version of the operational contract, applied by every
 * policy-engine (only on top of `fromVersion`). Published when a second admin approves a change request.
 */
export const ContractChangedV1 = z.object({
  fromVersion: z.string(),
  toVersion: z.string(),
  hash: z.string(),
  changeRequestId: z.string().min(1),
  /** The authenticated principal that requested the change. */
  requestedBy: z.string().min(1),
  /** The authenticated principal that approved it (never the requester); the envelope's actor. */
  approvedBy: z.string().min(1),
  /**
   * The change digest the approval is bound to (libs/policy `changeDigest`). Policy engines apply no
   * change without one that matches (events from before change requests had none).
   */
  digest: sha256Hex.optional(),
  /** The contract's YAML, exactly as approved. */
  contract: z.string().min(1).max(1_000_000),
});

/** The kinds of change that go through change requests: a contract version now, an autonomy raise later. */
export const ChangeKindSchema = z.enum(['contract']);

/**
 * `policy.change.requested.v1`: an admin asked for a change (first of four eyes). Nothing changes until
 * another admin approves the same digest (`policy.change.decided.v1`).
 */
export const ChangeRequestedV1 = z.object({
  changeRequestId: z.string().min(1).max(100),
  kind: ChangeKindSchema,
  /** SHA-256 of what the change does; the approval must name it. */
  digest: sha256Hex,
  /** The authenticated principal that asked. */
  requestedBy: ActorSchema,
  reason: z.string().min(1).max(2000),
  expiresAt: z.iso.datetime({ offset: true }),
  /** For `kind: contract`: from the running version to the candidate, and the candidate's YAML. */
  contract: z.object({
    fromVersion: z.string().min(1),
    fromHash: z.string().min(1),
    toVersion: z.string().min(1),
    toHash: z.string().min(1),
    text: z.string().min(1).max(1_000_000),
  }),
  /** `countersign policy diff` of the running contract against the candidate over a corpus of proposals. */
  diff: z.object({
    corpus: z.string().min(1).max(200),
    total: z.number().int().nonnegative(),
    changed: z.number().int().nonnegative(),
    output: z.string().max(100_000),
  }),
});

/**
 * `policy.change.decided.v1`: a change request was approved by another admin, rejected by another admin,
 * or withdrawn by its requester. An approved contract change is then applied as `policy.contract.changed.v1`.
 */
export const ChangeDecidedV1 = z.object({
  changeRequestId: z.string().min(1).max(100),
  kind: ChangeKindSchema,
  decision: z.enum(['approved', 'rejected', 'withdrawn']),
  /** The digest the decision is about (for an approval: the digest the approver named). */
  digest: sha256Hex,
  /** The authenticated principal that decided; never the requester for an approval. */
  decider: ActorSchema,
  requestedBy: ActorSchema,
  reason: z.string().min(1).max(2000),
});

/** `review.sample.assessed.v1`: a person checked a sampled autonomous action after the fact. */
export const SampleAssessedV1 = z.object({
  verdict: z.enum(['agree', 'disagree']),
  reason: freeTextString().min(1).max(2000),
  reviewers: z.array(ActorSchema).min(1),
  digest: sha256Hex,
  shown: z.record(z.string(), z.unknown()).optional(),
  shownDigest: sha256Hex.optional(),
});

/**
 * `review.data.revealed.v1`: a reviewer holding `pii:view` saw the real (unmasked) values of a pending
 * review item; the envelope's actor is the reviewer. Names what kinds of regulated data were where, never
 * the values.
 */
export const ReviewDataRevealedV1 = z.object({
  /** The action digest of the real content shown, the one an approval binds to. */
  digest: sha256Hex,
  /** Each regulated value shown: its kind (`card`, `iban`, `email`, …) and JSON pointer in the proposal. */
  findings: z.array(z.object({ kind: z.string().min(1).max(100), path: z.string().max(2000) })).max(1000),
});

/**
 * `control.flag-source.health-changed.v1`: a flag source became unusable (unreadable, invalid) or good
 * again. While `failClosed`, every flag of that source reads unknown, so kill switches stop execution.
 */
export const FlagSourceHealthChangedV1 = z.object({
  status: z.enum(['failed', 'recovered']),
  /** The service whose flags are affected. */
  service: z.string().min(1).max(200),
  /** Which source: the flag file's path or the Unleash URL. */
  flagSource: z.string().min(1).max(1000),
  reason: z.string().min(1).max(2000),
  failClosed: z.boolean(),
});

/**
 * `execution.outcome.check-requested.v1`: the executor cannot tell whether an action took effect (it stopped
 * during the call, or the target did not answer) and its connector can neither re-send safely nor ask the
 * target: a person must find out. The review queue turns it into an item of kind `outcome-check`.
 */
export const OutcomeCheckRequestedV1 = z.object({
  connector: z.string().min(1),
  digest: sha256Hex,
  /** The key the target received the action under: what a person looks it up by at the target. */
  idempotencyKey: z.string().min(1).max(200),
  /** The action as the executor sent it (the review queue masks regulated data before showing it). */
  proposal: ProposalSchema,
  proposerPrincipal: z.string().min(1),
  contractVersion: z.string().min(1),
  authorisedBy: z.enum(['autonomous-decision', 'approval']),
  /** When the call that left the outcome unknown started. */
  since: z.iso.datetime({ offset: true }),
  /** Why the outcome is unknown. */
  reason: z.string().min(1).max(2000),
});

/**
 * `review.outcome.check-answered.v1`: a reviewer answered an outcome check: the action did (`happened`) or did
 * not take effect. Signed like every review decision (decision `happened` or `not-happened`, bound to the action
 * id and digest); the executor records `executed` or `failed` only from an answer whose token verifies.
 */
export const OutcomeCheckAnsweredV1 = z.object({
  happened: z.boolean(),
  reviewers: z.array(ActorSchema).min(1),
  reason: freeTextString().min(1).max(2000),
  digest: sha256Hex,
  /** The review queue's signed decision token (`cs1`, libs/approval). */
  signature: z.string().max(8192),
  shown: z.record(z.string(), z.unknown()).optional(),
  shownDigest: sha256Hex.optional(),
});
