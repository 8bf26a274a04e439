import { z } from 'zod';
import { ActorSchema } from '../envelope';
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
  reason: z.string().min(1).max(2000),
  digest: sha256Hex,
  /** The signed approval token (present when approved). */
  approval: z.string().max(8192).optional(),
  /** Exactly what the deciding reviewer was shown (the review item as the API served it) … */
  shown: z.record(z.string(), z.unknown()).optional(),
  /** … and its SHA-256 over canonical JSON, which the reviewer's client echoed back. */
  shownDigest: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});

/** `execution.action.executed.v1`: the connector carried the action out. */
export const ActionExecutedV1 = z.object({
  connector: z.string(),
  digest: sha256Hex,
  authorisedBy: z.enum(['autonomous-decision', 'approval']),
  externalRequestId: z.string().optional(),
  attempt: z.number().int().positive(),
});

/** `execution.action.failed.v1`: the connector failed, or the outcome is unknown after a crash. */
export const ActionFailedV1 = z.object({
  outcome: z.enum(['failed', 'outcome_unknown']),
  connector: z.string(),
  digest: sha256Hex,
  error: z.string(),
});

/** `execution.action.refused.v1`: the executor refused to act (kill switch, no authorisation, bad approval). */
export const ActionRefusedV1 = z.object({
  code: z.enum([
    'kill-switch-off',
    'flag-unknown',
    'prohibited',
    'not-authorised',
    'invalid-approval',
    'approval-for-other-action',
    'digest-mismatch',
    'approval-replayed',
    'rejected',
  ]),
  reason: z.string(),
  /** True when the refusal looks like an attack (forged or misdirected approval). */
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

/** `policy.contract.changed.v1`: an approved new version of the operational contract, applied by every policy-engine. */
export const ContractChangedV1 = z.object({
  fromVersion: z.string(),
  toVersion: z.string(),
  hash: z.string(),
  changeRequestId: z.string().min(1),
  requestedBy: z.string().min(1),
  approvedBy: z.string().min(1),
  /** The contract's YAML, exactly as approved. */
  contract: z.string().min(1).max(1_000_000),
});

/** `review.sample.assessed.v1`: a person checked a sampled autonomous action after the fact. */
export const SampleAssessedV1 = z.object({
  verdict: z.enum(['agree', 'disagree']),
  reason: z.string().min(1).max(2000),
  reviewers: z.array(ActorSchema).min(1),
  digest: sha256Hex,
  shown: z.record(z.string(), z.unknown()).optional(),
  shownDigest: sha256Hex.optional(),
});
