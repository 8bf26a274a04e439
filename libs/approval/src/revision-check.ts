import { genuineDecision, ReviewDecisionClaims, VerifyKeys } from './index';
import { actionDigest, TOPICS, TopicMap } from '@countersign/contracts';

type ProposalRevised = TopicMap[typeof TOPICS.proposalRevised];

const BOUND = ['newActionId', 'revisedDigest', 'proposerPrincipal', 'contractVersion'] as const;

/**
 * Whether a revision on the bus is the review queue's genuine one (docs/adr/0017, addendum 2026-12-02): its token verifies
 * against the review-decision keys, signs `revised` on this action and digest, was signed for the reviewer the event names,
 * and names exactly the new version the event carries (new action id, proposer, contract version, and the digest of
 * the new proposal, which is recomputed here). Anything else creates no action and changes no timeline (the orchestrator),
 * and is recorded apart in the audit log (the audit writer): a writer with the review queue's Kafka credential alone
 * cannot propose as another agent or tenant, nor take the genuine revision's place in the log.
 */
export function genuineRevision(
  e: ProposalRevised,
  keys: VerifyKeys,
  now: Date = new Date(),
): { ok: true; claims: ReviewDecisionClaims } | { ok: false; reason: string } {
  const d = e.data;
  const checked = genuineDecision(d.signature, { decision: 'revised', actionId: e.subject, digest: d.digest }, keys, now);
  if (!checked.ok) return checked;
  const signed = checked.claims.revision;
  if (!signed) return { ok: false, reason: 'the revision token does not name the new version it creates' };
  const differs = BOUND.filter((k) => signed[k] !== d[k]);
  if (differs.length) return { ok: false, reason: `the revision token names another new version (${differs.join(', ')})` };
  if (actionDigest(d.proposal, d.contractVersion) !== d.revisedDigest)
    return { ok: false, reason: 'the new proposal is not the one the reviewer approved (revisedDigest)' };
  if (!checked.claims.deciders.includes(e.actor.id))
    return { ok: false, reason: `the revision was signed for ${checked.claims.deciders.join(', ')}, not ${e.actor.id}` };
  return { ok: true, claims: checked.claims };
}
