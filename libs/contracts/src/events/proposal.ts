import { z } from 'zod';

const identifier = z.string().min(1).max(200);

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
  /** The action's arguments, as the connector will receive them. */
  parameters: z.record(z.string(), z.unknown()),
  proposer: ProposerSchema,
  /** The model's own confidence, 0..1. */
  confidence: z.number().min(0).max(1),
  tenant: identifier,
  region: identifier,
  /** Free context for policy rules and reviewers (e.g. data classification, commitment flags). */
  context: z.record(z.string(), z.unknown()).default({}),
  /** A scoped token for privileged workflows. */
  scopedToken: z.string().max(4096).optional(),
});
/** A proposed action, validated. */
export type Proposal = z.infer<typeof ProposalSchema>;
