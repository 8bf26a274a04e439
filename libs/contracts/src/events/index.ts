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

/**
 * Where a revised action comes from (approve with changes, docs/adr/0017): the action a reviewer revised, who revised
 * it, the revision event, and the principal that proposed the original (it stays the proposer: separation of duties
 * and rate limits keep counting against it).
 */
export const RevisionOfSchema = z.object({
  actionId: z.string().min(1).max(200),
  /** The reviewer who revised it. */
  by: z.string().min(1).max(200),
  /** The `review.proposal.revised.v1` event the action was created from. */
  revisionEventId: z.string().min(1).max(200),
  proposerPrincipal: z.string().min(1).max(200),
});
/** The link from a revised action to the one it replaces. */
export type RevisionOf = z.infer<typeof RevisionOfSchema>;

/** `orchestrator.action.proposed.v1`: a proposal accepted by the orchestrator, now an action. */
export const ActionProposedV1 = z.object({
  proposal: ProposalSchema,
  /** `revision`: created by the orchestrator from a reviewer's revision of another action (`revisionOf`). */
  receivedVia: z.enum(['http', 'kafka', 'revision']),
  idempotencyKey: z.string().max(200).optional(),
  /** Set on an action created from a reviewer's revision (approve with changes) of another action. */
  revisionOf: RevisionOfSchema.optional(),
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
      /** What happens at the end of the SLA: expiry (`fail-closed`, also when absent) or, once, a fallback team. Never approval. */
      whenUnavailable: z.union([z.literal('fail-closed'), z.object({ fallback: z.string().min(1) })]).optional(),
      /** When the item escalates (a share of its SLA) and the roles it then gains, from the contract's `escalation`. */
      escalation: z.object({ atShare: z.number().gt(0).lt(1), to: z.array(z.string()) }).optional(),
    })
    .optional(),
  sampledForAudit: z.boolean().default(false),
  /** Which input decided (the highest-precedence one that demanded the lane). */
  decidedBy: z.enum(['prohibited-rule', 'kill-switch', 'degradation', 'trust-stack', 'autonomy', 'contract']).optional(),
  riskClass: z.enum(['low', 'medium', 'high']).optional(),
  /** Blocked for now by a degradation mode: the agent may retry later. */
  retryLater: z.boolean().optional(),
  /** Carried from `action proposed`: the action is a reviewer's revision of another (docs/adr/0017). */
  revisionOf: RevisionOfSchema.optional(),
  /**
   * The time the contract was read at (the proposal's time: a redelivery gets the same decision); the executor checks an
   * autonomous decision against the contract at this time (ADR 0036). Absent on decisions made before it: the event's time.
   */
  evaluatedAt: z.iso.datetime({ offset: true }).optional(),
  /**
   * The policy engine's seal of this decision (`sealEvent` of `@countersign/approval`, with its decision key,
   * docs/adr/0040): the executor and the review queue act only on a decision whose seal verifies and names it. Optional
   * in the schema so that an unsealed decision still reads (and is refused with its reason).
   */
  seal: z.string().max(4096).optional(),
});

/**
 * Whether the deciding reviewer's client sent the digest of the view it showed them (`shownDigest`) with the decision:
 * the inbox always does; a call of the JSON API may not. `false`: `shown` is what the API would have shown then, and
 * nothing says the reviewer saw it (auditor probe, 2026-12-06). Absent on events from before it was kept.
 */
const shownEchoed = z.boolean().optional();

/**
 * `review.decision.made.v1`: a human approved or rejected a review item, or the review clock acted on it: it
 * `expired` at the end of its SLA (final, never executed), or it `escalated` (at a share of its SLA, or re-routed
 * once to its fallback team at the end of it; the item stays pending, nothing changes at the executor).
 */
export const ReviewDecidedV1 = z.object({
  /** `revised`: never on this topic; the executor reads a `review.proposal.revised.v1` as this decision (final, never executed). */
  decision: z.enum(['approved', 'rejected', 'expired', 'escalated', 'revised']),
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
  /** … and its SHA-256 over canonical JSON, which the reviewer's client echoed back when `shownEchoed`. */
  shownDigest: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  shownEchoed,
  /** An escalation's step: to the next tier (`escalated`) or to the fallback team (`rerouted`), the roles and due time after it. */
  escalation: z.object({ kind: z.enum(['escalated', 'rerouted']), requiredRoles: z.array(z.string()), dueAt: z.string() }).optional(),
  /**
   * Why the review queue itself closed it: `sla_expired` (the clock: no decision within the SLA),
   * `proposer_backlog_full` (rejected at intake: its proposer already had the contract's most approvals waiting), or
   * `tenant_backlog_full` (rejected at intake: its tenant, from all its agents, already had the contract's most waiting).
   */
  reasonCode: z.enum(['sla_expired', 'proposer_backlog_full', 'tenant_backlog_full']).optional(),
  /**
   * On the review clock's `escalated` and `expired`: the reviewer whose claim on the item held at that moment (who sat
   * on it), so the audit trail names them; absent when no claim held. Optional: older events read as before.
   */
  claimedBy: z.string().min(1).max(200).optional(),
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

/**
 * The executor's seal of an outcome it publishes (`cf1`, `sealEvent` of `@countersign/approval`, with its outcome key,
 * `OUTCOME_SIGNING_KEYS_FILE`, docs/adr/0042) over the event's type, id, time, subject, actor and data: the orchestrator's
 * timeline, the review queue and the audit writer take an outcome for what happened only when its seal verifies. Optional
 * in the schema so that an unsealed one still reads (and is set apart with its reason).
 */
const executorSeal = z.string().max(4096).optional();

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
  seal: executorSeal,
});

/** `execution.action.failed.v1`: the connector failed, or the outcome is unknown after a crash. */
export const ActionFailedV1 = z.object({
  outcome: z.enum(['failed', 'outcome_unknown']),
  connector: z.string(),
  digest: sha256Hex,
  error: z.string(),
  /** Set on a step of the reconciler: an attempt that left the outcome unknown, or the failure it settled on. */
  reconciliation: ReconciliationSchema.optional(),
  seal: executorSeal,
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
    // Held (halted mode, an unhealthy trust stack) past EXECUTION_MAX_HOLD_SECONDS after its decision or approval.
    'authorisation-stale',
  ]),
  reason: z.string(),
  /** True when the refusal looks like an attack (a forged, misdirected or mismatched review decision). */
  suspicious: z.boolean().default(false),
  /**
   * True when the action is closed as refused; false when only the event was refused (a forged, replayed or misdirected
   * decision, an answer that does not fit) and the action goes on as it was: its timeline and `audit completeness` then
   * do not count the refusal as the action's end. Events from before it was carried were final.
   */
  final: z.boolean().default(true),
  seal: executorSeal,
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
 * `audit.log.recovered.v1`: what the audit writer found when it loaded its log and adopted or set aside, recorded by
 * the writer in its own log (never published) before anything else, so that the next signed head covers it
 * (docs/adr/0005, addendum of 2026-12-04). Its event id is derived from these fields: the same finding is one entry.
 */
export const AuditLogRecoveredV1 = z.discriminatedUnion('kind', [
  z.object({
    /** Entries past the newest signed head (an unclean stop leaves them), adopted as they were. */
    kind: z.literal('unsigned-tail'),
    /** The first of them: the size of the newest signed head then (0 when there was none). */
    from: z.number().int().nonnegative(),
    /** The last of them. */
    to: z.number().int().nonnegative(),
  }),
  z.object({
    /** A last line cut short (no newline, the start of a JSON line only), past every signed head: set aside. */
    kind: z.literal('torn-write'),
    /** The file it ended (the log, its file of signed heads, or a file of the head store). */
    file: z.string().min(1),
    /** Its 1-based line number. */
    line: z.number().int().positive(),
    /** How many bytes it had, and their SHA-256: what the file where they are kept must still hold. */
    bytes: z.number().int().nonnegative(),
    digest: sha256Hex,
    /** Where those bytes are kept (never deleted). */
    keptAt: z.string().min(1),
    /** The size of the newest signed head then: the line was past it. */
    newestSignedHead: z.number().int().nonnegative(),
  }),
]);

/**
 * `audit.log.stopped.v1`: the audit writer stopped cleanly, recorded in its own log (never published) right before the
 * final head, which covers it. A store written by one writer (the embedded file) then refuses, at the next start, any
 * entry past that head but the writer's own `audit.log.resumed.v1` (docs/adr/0005, addendum of 2026-12-04).
 */
export const AuditLogStoppedV1 = z.object({
  /** How many entries the log had before this one (its index). */
  logSize: z.number().int().nonnegative(),
});

/**
 * `audit.log.resumed.v1`: the audit writer started again on a log whose newest signed head ends in its clean stop,
 * recorded in its own log (never published) and signed by a head before anything else is appended.
 */
export const AuditLogResumedV1 = z.object({
  /** The index of the clean stop's entry (`audit.log.stopped.v1`) it follows. */
  stoppedAt: z.number().int().nonnegative(),
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
  /**
   * The policy engine's signature over the approval (libs/policy `signContractChange`, docs/adr/0038). Services apply
   * no change whose signature does not verify against their `CONTRACT_VERIFY_KEYS_FILE` (events from before had none).
   */
  signature: z.string().max(4096).optional(),
  /** The contract's YAML, exactly as approved. */
  contract: z.string().min(1).max(1_000_000),
});

/** The kinds of change that go through change requests: a contract version, or an autonomy raise (a flag made looser). */
export const ChangeKindSchema = z.enum(['contract', 'autonomy']);

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
  contract: z
    .object({
      fromVersion: z.string().min(1),
      fromHash: z.string().min(1),
      toVersion: z.string().min(1),
      toHash: z.string().min(1),
      text: z.string().min(1).max(1_000_000),
    })
    .optional(),
  /** For `kind: autonomy`: the flag and the raise asked for (`from` is the approved value it starts from). */
  autonomy: z
    .object({
      flag: z.string().min(1).max(300),
      actionType: z.string().min(1).max(200),
      control: z.enum(['kill-switch', 'autonomy']),
      from: z.string().min(1).max(50),
      to: z.string().min(1).max(50),
    })
    .optional(),
  /** For `kind: contract`: `countersign policy diff` of the running contract against the candidate over a corpus of proposals. */
  diff: z
    .object({
      corpus: z.string().min(1).max(200),
      total: z.number().int().nonnegative(),
      changed: z.number().int().nonnegative(),
      output: z.string().max(100_000),
    })
    .optional(),
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
  shownEchoed,
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
 * `security.principals.changed.v1`: a service took its tokens file again while running (docs/adr/0008 addendum
 * 2026-12-06): who may call it now, as the file says. Who was removed, added, given other roles or another token, and
 * each added or changed principal's roles and tenants, by id (never a token or its digest). `refused`: the file could not
 * be used, and no token is taken until it can (fail closed). An auditor reads who could reveal, approve or audit when.
 */
const principalIds = z.array(z.string().min(1).max(200)).max(10_000);
export const PrincipalsChangedV1 = z.object({
  /** The service whose tokens file it is. */
  service: z.string().min(1).max(200),
  /** The file's name (not its folder). */
  file: z.string().min(1).max(300),
  removed: principalIds,
  added: principalIds,
  /** Other roles or tenants than before. */
  changed: principalIds,
  /** The same roles and tenants, another token (a rotation). */
  rotated: principalIds,
  /** The roles (and tenants, when bound) of each added or changed principal, as they are now. */
  grants: z
    .array(
      z.object({
        principal: z.string().min(1).max(200),
        roles: z.array(z.string().min(1).max(200)).max(100),
        tenants: z.array(z.string().min(1).max(200)).max(1000).optional(),
      }),
    )
    .max(10_000),
  refused: z.string().min(1).max(2000).optional(),
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
  seal: executorSeal,
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
  shownEchoed,
});

/** What a controlled flag is: an action type's kill switch (on = may execute) or its autonomy level. */
const ControlKindSchema = z.enum(['kill-switch', 'autonomy']);
const ControlValueSchema = z.enum(['on', 'off', 'review-all', 'review-risky', 'autonomous']);

/**
 * `control.autonomy.changed.v1` (compacted, keyed by the flag): the state Countersign approved for a kill switch
 * or an autonomy flag. Every policy engine and executor follows it from the beginning and applies the stricter
 * of it and Unleash at once. `lowered`: one authenticated call; `raised`: a change request a second admin
 * approved; `accepted`: a lowering made directly in Unleash, taken as the approved state.
 */
export const AutonomyChangedV1 = z.object({
  flag: z.string().min(1).max(300),
  actionType: z.string().min(1).max(200),
  control: ControlKindSchema,
  value: ControlValueSchema,
  /** The approved value before (absent the first time Countersign controls the flag). */
  previous: ControlValueSchema.optional(),
  change: z.enum(['lowered', 'raised', 'accepted']),
  reason: freeTextString().min(1).max(2000),
  /** For `raised`: the approved change request, its digest and who requested it (the envelope's actor approved it). */
  changeRequestId: z.string().min(1).max(100).optional(),
  digest: sha256Hex.optional(),
  requestedBy: z.string().min(1).optional(),
  /**
   * Why Countersign took this state itself, nobody having changed anything: `adopted`, a flag as it stood when Countersign
   * first looked; `contract-added`, the kill switch of a type a contract change added, off. Absent: a person's change
   * (a lowering, an approved raise, or a change made directly in the flag store, accepted). Leads' override counts skip it.
   */
  origin: z.enum(['adopted', 'contract-added']).optional(),
  /**
   * The policy engine's seal (its decision key, docs/adr/0040, addendum): the policy engines and the executors apply only
   * a sealed entry. Optional in the schema so an unsealed one still reads (and is refused with its reason).
   */
  seal: z.string().max(4096).optional(),
});

/**
 * `control.autonomy.drift-detected.v1`: a controlled flag was changed in Unleash outside Countersign. A raise
 * (looser than approved) is `reverted` through the admin API; a lowering is `accepted` as the approved state;
 * a flag Countersign never controlled is only recorded (`recorded`).
 */
export const AutonomyDriftDetectedV1 = z.object({
  flag: z.string().min(1).max(300),
  actionType: z.string().min(1).max(200),
  control: ControlKindSchema,
  /** What Countersign approved; absent for a flag it never controlled. */
  approved: ControlValueSchema.optional(),
  /** What Unleash holds (`unknown`: a shape Countersign cannot read as one value, or the flag is gone). */
  observed: z.string().min(1).max(50),
  outcome: z.enum(['reverted', 'accepted', 'recorded']),
  /** Unleash's events that showed the change (ids, types, who). */
  unleashEvents: z.array(z.object({ id: z.number().int(), type: z.string().max(200), createdBy: z.string().max(300).optional() })).max(100),
  reason: z.string().min(1).max(2000),
});

/** A degradation mode as the control topic carries it (what each does: libs/policy evaluate.ts). */
export const DegradationModeSchema = z.enum(['normal', 'elevated', 'constrained', 'halted']);

/** One operator override of the degradation mode: in force until `expiresAt`, or until cleared. */
const OneModeOverrideSchema = z.object({
  mode: DegradationModeSchema,
  reason: freeTextString().min(3).max(2000),
  /** The admin who set it. */
  by: z.string().min(1).max(300),
  /** The second admin who confirmed it: an override below the mode the controller computes takes two (ADR 0013). */
  confirmedBy: z.string().min(1).max(300).optional(),
  expiresAt: z.iso.datetime({ offset: true }),
});

/** The most overrides that wait to resume under a shorter one (`resumes`). */
export const MAX_RESUMED_OVERRIDES = 8;

/**
 * An operator's override of the degradation mode: in force until `expiresAt`, or until cleared. `resumes`: the overrides
 * it was set over that end after it, in the order they end, each in force again from the end of the one before it to
 * its own (ADR 0013 addendum 2026-12-08: an emergency halt shorter than an hour-long one applies at once, and the hour
 * resumes at its end).
 */
export const ModeOverrideSchema = OneModeOverrideSchema.extend({
  resumes: z.array(OneModeOverrideSchema).max(MAX_RESUMED_OVERRIDES).optional(),
});

/**
 * `control.degradation.mode-changed.v1` (compacted, one key): the degradation controller changed the mode. Every
 * service that applies the mode (policy engine, executor) replays it at start; the latest event is the mode.
 */
export const DegradationModeChangedV1 = z.object({
  mode: DegradationModeSchema,
  previous: DegradationModeSchema,
  /** What the backlog and the SLOs alone say (the mode unless an override is in force). */
  computed: DegradationModeSchema,
  /** The signals the controller read (pending items, oldest age as a share of SLA, load per reviewer, burn rate). */
  inputs: z.record(z.string().max(100), z.union([z.number(), z.boolean(), z.null()])),
  /** Why the mode is what it is, in words. */
  reason: z.string().min(1).max(2000),
  /** When the computed mode last changed: the dwell counts from there (a new controller continues it). */
  computedSince: z.iso.datetime({ offset: true }),
  /** The operator override in force, if any. */
  override: ModeOverrideSchema.optional(),
  /**
   * The review queue's seal of this event (`cf1`, `sealEvent` of `@countersign/approval`, docs/adr/0039): followers
   * apply only an event whose seal verifies and names it. Optional in the schema so that an unsealed event still reads
   * (and is refused with its reason) rather than dead-lettered.
   */
  seal: z.string().max(4096).optional(),
});

/**
 * `control.degradation.override-set.v1` (compacted, two keys): under `degradation-override`, an operator set
 * (`override`) or cleared (absent) the override of the degradation mode through `POST|DELETE
 * /v1/governance/mode-override`; the controller applies it. Under `degradation-override-request`, an admin asked for an
 * override below the computed mode (`override`), which waits for a second admin, or the request ended (absent).
 */
export const DegradationOverrideSetV1 = z.object({
  override: ModeOverrideSchema.optional(),
  reason: freeTextString().min(3).max(2000),
  /**
   * The review queue's seal of this event (`cf1`, `sealEvent` of `@countersign/approval`, docs/adr/0039): followers
   * apply only an event whose seal verifies and names it. Optional in the schema so that an unsealed event still reads
   * (and is refused with its reason) rather than dead-lettered.
   */
  seal: z.string().max(4096).optional(),
});

/**
 * `review.proposal.revised.v1` (subject: the revised action): a reviewer approved an action with changes (docs/adr/0017).
 * It is the revised action's final review decision — signed (`revised`, bound to its action id and digest), never
 * executed — and the orchestrator creates from it a new action (`newActionId`, derived from this event's id) whose
 * proposal is `proposal`, evaluated again like any other. The reviewer's approval counts for the new action only if the
 * policy engine's digest of it is `revisedDigest`.
 */
export const ProposalRevisedV1 = z.object({
  /** The digest of the revised action (what the review queue's token and the executor's record name). */
  digest: sha256Hex,
  /** The review queue's signed decision token (`cs1`, decision `revised`), verified by the executor before it closes the action. */
  signature: z.string().max(8192),
  /** The new action's id: `revisedActionId(<this event's id>)`, so a redelivered revision makes one action. */
  newActionId: z.string().min(1).max(200),
  /** The new version, real values restored where the reviewer kept a masked one (the connector receives it as is). */
  proposal: ProposalSchema,
  /** The digest the reviewer approved: `actionDigest(proposal, contractVersion)`. */
  revisedDigest: sha256Hex,
  /** The contract version the revised action was decided under (the digest above is computed under it). */
  contractVersion: z.string().min(1),
  /** The principal that proposed the revised action: it stays the proposer of the new one. */
  proposerPrincipal: z.string().min(1),
  /** JSON pointers of the parameters the reviewer changed, added or removed (never their values). */
  changed: z.array(z.string().max(2000)).max(1000),
  /** The reviewer's reason (the envelope's actor is the reviewer). */
  reason: freeTextString().min(1).max(2000),
  /** What the reviewer was shown (the review item as the API served it) and its SHA-256, as for every decision. */
  shown: z.record(z.string(), z.unknown()).optional(),
  shownDigest: sha256Hex.optional(),
  shownEchoed,
});

/**
 * `review.approval.recorded.v1`: one reviewer's approval of an action, counted towards its quorum, that did not complete
 * it (so no `review.decision.made.v1` names it yet, and none may ever: another reviewer rejects, the item is revised or
 * expires). The audit trail keeps every approval given, not only those of a quorum met (red team, 2026-12-05). The
 * envelope's actor is the reviewer, with how they signed in (`authMethod`, `amr`); `subject` is the action id. Nothing
 * acts on it: it is sealed (`seal`) by the review queue's decision key as a fact, and it is no approval token.
 */
export const ApprovalRecordedV1 = z.object({
  /** The reviewer's reason. */
  reason: freeTextString().min(1).max(2000),
  /** The action digest the approval is bound to. */
  digest: sha256Hex,
  /** The SHA-256 of what the reviewer was shown (the review item as the API served it), as for every decision. */
  shownDigest: sha256Hex.optional(),
  /**
   * Exactly what this approver was shown, as a decision's `shown`: each approver of a quorum saw their own screen (an
   * escalation between them changes the roles it names), and an auditor replays each (red team, 2026-12-07: only the
   * last approver's was in the trail).
   */
  shown: z.record(z.string(), z.unknown()).optional(),
  shownEchoed,
  /** The approvers so far, in the order they approved, this reviewer last. */
  approvers: z.array(z.string().min(1).max(200)).min(1).max(100),
  /** How many distinct approvers the item needs. */
  quorum: z.number().int().min(1).max(100),
  /** The review queue's seal of this event (`sealEvent` of `@countersign/approval`, its decision key). */
  seal: z.string().max(8192).optional(),
});

/**
 * `review.second-review.recorded.v1`: a blind second reviewer's verdict on a decided approval item (ADR 0018, a sample
 * of human decisions). It changes nothing that executes: the first decision stands. The audit of the verdict, its
 * actor the second reviewer; `subject` the item's action id; an id derived from the item's cause, so a re-emit is
 * dropped. Sealed by the review queue (its decision key) as a fact: a forged verdict would put a review no one gave on
 * the record.
 */
export const SecondReviewRecordedV1 = z.object({
  verdict: z.enum(['approved', 'rejected']),
  /** The first decision it was blind to; `verdict` ≠ `firstDecision` is a disagreement, for leads. */
  firstDecision: z.enum(['approved', 'rejected']),
  /** The second reviewer's reason, masked as every reason a person writes. */
  reason: freeTextString().min(1).max(2000),
  /** The action digest of the item reviewed. */
  digest: sha256Hex,
  slaClass: z.string().min(1).max(100),
  /**
   * Exactly what the second reviewer was shown (the second-review page's view of the item), as a decision's `shown`, and
   * its SHA-256 over canonical JSON, which the page sent back when `shownEchoed`. Absent on verdicts given before it was
   * kept.
   */
  shown: z.record(z.string(), z.unknown()).optional(),
  shownDigest: sha256Hex.optional(),
  shownEchoed,
  /** The review queue's seal of this event (`sealEvent` of `@countersign/approval`, its decision key). */
  seal: z.string().max(8192).optional(),
});

/**
 * `review.canary.missed.v1`: a reviewer approved a canary (ADR 0018) — a known-bad proposal the review queue put in
 * the queue to measure attention. Nothing executes (a canary's decision never leaves the review queue); the event is
 * the audit of the miss, its actor the reviewer. `subject` is the canary's id, which no other event names.
 */
export const CanaryMissedV1 = z.object({
  /** The contract's canary template (`decisionQuality.canaries.templates[].id`). */
  template: z.string().min(1).max(100),
  actionType: z.string().min(1).max(200),
  slaClass: z.string().min(1).max(100),
  /** The canary's action digest, as its card showed it. */
  digest: sha256Hex,
  /** How long the card was in front of the reviewer before the approval (ms); absent when it was not shown by the inbox. */
  dwellMs: z.number().int().min(0).optional(),
});

/** The overall health of the trust stack (keys, later certificates), worst finding first (docs/adr/0019). */
export const TrustHealthSchema = z.enum(['healthy', 'degraded', 'unhealthy']);

/**
 * One thing the trust monitor checked: a signing key (`signing-key`), a verify key (`verify-key`), or — later — a
 * certificate. `ok`; `rotation-due` (the current key's `notAfter` is within the warning window and no overlapping
 * successor is installed: degraded); `expired` (no key valid now: unhealthy); `missing` / `unreadable` (the file, or a
 * key it names: unhealthy). Names the owner service, the file and the key, never key material.
 */
export const TrustFindingSchema = z.object({
  kind: z.enum(['signing-key', 'verify-key', 'certificate']),
  /** The service that uses it (`review-queue`, `executor`, `audit-writer`, …). */
  owner: z.string().min(1).max(200),
  /** What it is for, e.g. `approval-signing`, `approval-verify`, `audit-tree-head`. */
  purpose: z.string().min(1).max(200),
  /** The keys file (or certificate) checked. */
  source: z.string().min(1).max(1000),
  /** The current key's id (the newest valid now), or the newest listed when none is valid; absent when none could be read. */
  keyId: z.string().min(1).max(200).optional(),
  notAfter: z.iso.datetime({ offset: true }).optional(),
  status: z.enum(['ok', 'rotation-due', 'expired', 'missing', 'unreadable']),
  reason: z.string().min(1).max(2000),
});

/**
 * `control.trust.health-changed.v1` (compacted, one key): the trust monitor's verdict on every key it watches (ADR 0019),
 * published on each change and as a heartbeat. Every policy engine and executor replays it at start and follows it:
 * not `healthy` (or no verdict, or a stale one) makes trust-sensitive work fail closed.
 */
export const TrustHealthChangedV1 = z.object({
  health: TrustHealthSchema,
  previous: TrustHealthSchema.optional(),
  findings: z.array(TrustFindingSchema).max(1000),
  reason: z.string().min(1).max(2000),
  /** The monitor's check interval and heartbeat (ms): a follower takes a verdict older than a few heartbeats as unknown. */
  checkMs: z.number().int().positive(),
  heartbeatMs: z.number().int().positive(),
  /**
   * The review queue's seal of this event (`cf1`, `sealEvent` of `@countersign/approval`, docs/adr/0039): followers
   * apply only an event whose seal verifies and names it. Optional in the schema so that an unsealed event still reads
   * (and is refused with its reason) rather than dead-lettered.
   */
  seal: z.string().max(4096).optional(),
});

/**
 * `execution.action.held.v1`: the executor did not start an action now, for a reason that passes (the trust stack is
 * not healthy). Not an outcome: the decision is redelivered and the action executes once the reason is gone. One
 * event per action and hold (its id derives from the cause and what caused the hold), however often it is retried.
 */
export const ActionHeldV1 = z.object({
  // `kill-switch-off`: an action whose outcome is unknown is not sent again while its kill switch is off (the reconciler).
  // `audit-unavailable`: nor while the embedded audit file cannot be written (no audit, no action; red team, 2026-12-05).
  code: z.enum(['trust-stack-unhealthy', 'degradation-halted', 'kill-switch-off', 'audit-unavailable']),
  reason: z.string().min(1).max(2000),
  /** The trust-health event in force (absent when there is none yet). */
  trustHealthEventId: z.string().min(1).max(200).optional(),
  seal: executorSeal,
});

/**
 * `review.claim.broken.v1`: a lead ended another reviewer's claim on a pending review item (they left it open and went
 * away), so that someone else may work it before the claim would run out. The envelope's actor is the lead; the item
 * stays pending, and its former holder may claim it again like anyone.
 */
export const ClaimBrokenV1 = z.object({
  /** Who held the claim (principal id). */
  heldBy: z.string().min(1).max(200),
  /** When the claim would have run out. */
  heldUntil: z.string().min(1).max(100),
  /** Why the lead ended it. */
  reason: freeTextString().min(1).max(2000),
});
