import { Proposal, submissionSignatureValid, SubmittedProposal } from '@countersign/contracts';
import { mayActFor, mayActIn, mayProposeAs, Principal, TokenRegistry } from '@countersign/nest';

/**
 * What a proposal must pass before it becomes an action, whichever way it came (docs/adr/0008): its
 * proposer is an authenticated principal allowed to propose as `proposer.agentId`, and its parameters fit
 * the schema of its action type in the running contract (`parameterRefusal`, libs/policy). Over HTTP a refusal is a 403 or a 400; on Kafka
 * the submission is dead-lettered with the same reason. Either way it is audited.
 */

export type Authenticated = { ok: true; principal: Principal } | { ok: false; reason: string };

/**
 * Who signed a proposal produced straight to Kafka: the principal holding the key its signature names,
 * if the signature verifies, the envelope's actor is that principal, and it has the agent role.
 */
export function authenticateSubmission(event: SubmittedProposal, tokens: TokenRegistry): Authenticated {
  const signature = event.signature;
  if (!signature) return { ok: false, reason: 'unauthenticated proposer: the submission is not signed (agents sign with their Ed25519 key, docs/adr/0008)' };
  const holder = tokens.signingKey(signature.keyId);
  if (!holder) return { ok: false, reason: `unauthenticated proposer: unknown signing key ${JSON.stringify(signature.keyId)}` };
  if (!submissionSignatureValid(event, holder.key))
    return { ok: false, reason: `unauthenticated proposer: the signature by key ${signature.keyId} does not verify` };
  const principal = holder.principal;
  if (event.actor.id !== principal.id) {
    return {
      ok: false,
      reason: `unauthenticated proposer: actor ${JSON.stringify(event.actor.id)} is not ${JSON.stringify(principal.id)}, who holds key ${signature.keyId}`,
    };
  }
  if (!principal.roles.includes('agent')) return { ok: false, reason: `principal ${principal.id} has no agent role and may not propose` };
  return { ok: true, principal };
}

/**
 * Why `principal` may not propose `proposal`, or undefined when it may: as its `proposer.agentId`, and for its
 * `tenant` and `region` (a principal bound to tenants or regions acts only for and in them, spelled exactly as its entry
 * lists them).
 */
export function proposerRefusal(principal: Principal, proposal: Proposal): string | undefined {
  const agentId = proposal.proposer.agentId;
  if (!mayProposeAs(principal, agentId)) {
    const allowed = (principal.agentIds ?? [principal.id]).slice(0, 10).join(', ');
    return `principal ${principal.id} may not propose as agent ${JSON.stringify(agentId)}: it may propose as ${allowed}`;
  }
  if (!mayActFor(principal, proposal.tenant)) {
    const allowed = (principal.tenants ?? []).slice(0, 10).join(', ');
    return `principal ${principal.id} may not act for tenant ${JSON.stringify(proposal.tenant)}: it acts for ${allowed}`;
  }
  if (!mayActIn(principal, proposal.region)) {
    const allowed = (principal.regions ?? []).slice(0, 10).join(', ');
    return `principal ${principal.id} may not act in region ${JSON.stringify(proposal.region)}: it acts in ${allowed}`;
  }
  return undefined;
}
