import { z } from 'zod';
import { freeJsonObject, identifierString, nameString } from '../text';

// What a proposal names: no white space at either end (`nameString`).
const identifier = nameString(200);

/** Who proposed an action: the agent, its model, and the prompt template version that produced it. */
export const ProposerSchema = z.object({
  agentId: identifier,
  model: z.object({ name: identifier, version: identifier }),
  promptTemplateVersion: identifier,
});

/**
 * What an AI agent proposes to do. Agents send this as the body of `POST /v1/proposals`,
 * or as the `data` of an `agent.proposal.submitted.v1` event produced straight to Kafka.
 */
export const ProposalSchema = z.object({
  /** Dotted action type from the operational contract, e.g. `support.refund`. */
  actionType: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must be a dotted lower-case name such as support.refund'),
  /** What the action acts on: a ticket, an order, a customer, a repository. */
  target: identifier,
  /** The action's arguments, as the connector will receive them (at most 16 levels deep; free text without control characters). */
  parameters: freeJsonObject(),
  proposer: ProposerSchema,
  /** The model's own confidence, 0..1. */
  confidence: z.number().min(0).max(1),
  tenant: identifier,
  region: identifier,
  /** Free context for policy rules and reviewers (e.g. data classification, commitment flags). */
  context: freeJsonObject().default({}),
  /** A scoped token for privileged workflows. */
  scopedToken: identifierString(4096).optional(),
});
/** A proposed action, validated. */
export type Proposal = z.infer<typeof ProposalSchema>;

/**
 * The most a proposal may take as JSON as the events carry it (written out: a number sent as `1e20` travels as
 * `100000000000000000000`). An action's events carry it at most twice (a review decision holds what the reviewer was
 * shown beside it), so with this bound every one fits the bus's `MAX_EVENT_BYTES`; a 64 KiB request body alone did not
 * ensure it, and a proposal that grew past the limit was accepted and then stuck (or answered 5xx).
 */
export const MAX_PROPOSAL_BYTES = 64 * 1024;

/** Why a proposal is too large for the events it must travel in, or undefined when it fits. */
export function proposalSizeRefusal(proposal: unknown): string | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(proposal));
  if (bytes <= MAX_PROPOSAL_BYTES) return undefined;
  return `the proposal is ${bytes} bytes as JSON once written out (numbers such as 1e20 in full), over the ${MAX_PROPOSAL_BYTES}-byte limit of a proposal`;
}

/**
 * The proposer's Ed25519 signature over an `agent.proposal.submitted.v1` event: over the RFC 8785 canonical
 * JSON of the whole envelope as its schema reads it, without this field (docs/adr/0008). `keyId` names the
 * key in the tokens file, and so the principal that signed.
 */
export const SubmissionSignatureSchema = z.object({
  alg: z.literal('Ed25519'),
  keyId: identifier,
  /** 64 bytes, base64url without padding. */
  value: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'must be a 64-byte Ed25519 signature in base64url'),
});
export type SubmissionSignature = z.infer<typeof SubmissionSignatureSchema>;
