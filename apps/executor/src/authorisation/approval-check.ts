import { ReviewDecisionClaims, verifyReviewDecision, VerifyKeys } from '@countersign/approval';
import type { ActionRefusedV1 } from '@countersign/contracts';
import type { z } from 'zod';
import type { ActionRecord, ReviewDecidedEvent } from '../execution/execution.repository';

type Refusal = Pick<z.infer<typeof ActionRefusedV1>, 'code' | 'reason'>;

/** `stale`: a genuine approval that expired before its action could run; the action is closed, nothing is suspicious. */
export type DecisionVerdict = { ok: true; claims: ReviewDecisionClaims } | { ok: false; refusal: Refusal; stale?: true };

/**
 * Whether a review decision on the bus is the review queue's genuine decision on `record`: a token that
 * verifies (known key, signature, and for an approval its expiry), signs this very decision, names this
 * action and is bound to the digest the policy engine decided on. An approval must also be for an action
 * in the review lane. Anything else changes nothing and is reported as an attack: an unsigned rejection
 * must not block the genuine approval that follows it, any more than a forged approval may execute.
 */
export function checkReviewDecision(event: ReviewDecidedEvent, record: ActionRecord | undefined, keys: VerifyKeys, now: Date): DecisionVerdict {
  const { decision, signature, approval, digest } = event.data;
  // Approvals keep the codes they always had; every other decision has its own.
  const approving = decision === 'approved';
  const invalid = approving ? 'invalid-approval' : 'invalid-decision';
  const token = signature ?? approval;
  if (!token) return refuse(invalid, approving ? 'approved without an approval token' : `${decision} without a signed decision token`);
  if (signature && approval && signature !== approval) return refuse(invalid, 'the event carries two different decision tokens');
  const verified = verifyReviewDecision(token, keys, now);
  if (!verified.ok) {
    // A genuine approval of this very action that ran out while the action waited (held: halted, the trust stack): it
    // authorises nothing any more, and the action is closed as stale, not left waiting for ever nor reported as forged.
    const e = verified.expired;
    if (approving && e && record?.state === 'decided' && record.lane === 'review' && e.actionId === event.subject && e.digest === record.digest)
      return {
        ok: false,
        refusal: {
          code: 'authorisation-stale',
          reason: `approved, but not executed before the approval expired at ${e.expiresAt} (held meanwhile): propose again`,
        },
        stale: true,
      };
    return refuse(invalid, verified.reason);
  }
  const claims = verified.claims;
  if (claims.decision !== decision) return refuse('decision-mismatch', `the token signs a decision "${claims.decision}", the event says "${decision}"`);
  if (claims.actionId !== event.subject) {
    return refuse(
      approving ? 'approval-for-other-action' : 'decision-for-other-action',
      `the ${approving ? 'approval' : 'decision'} names action ${claims.actionId}, not ${event.subject}`,
    );
  }
  if (claims.digest !== digest)
    return refuse('digest-mismatch', `the ${approving ? 'approval' : 'decision'} is bound to another version of the action (digest mismatch)`);
  if (!record) return { ok: true, claims };
  if (approving && record.lane !== 'review') return refuse('not-authorised', `the action is in the ${record.lane} lane; an approval cannot authorise it`);
  if (claims.digest !== record.digest)
    return refuse('digest-mismatch', `the ${approving ? 'approval' : 'decision'} is bound to another version of the action (digest mismatch)`);
  // What the review queue enforces, read again where the action runs (trust probe, 2026-12-05: the executor took any
  // signed approval's approvers): no one approves twice in one quorum, and the proposer, or its agent id, approves nothing.
  if (approving && new Set(claims.deciders).size !== claims.deciders.length)
    return refuse('not-authorised', `the approval names one approver twice (${claims.deciders.join(', ')}): not a quorum the review queue counts`);
  const proposers = [record.proposerPrincipal, record.proposal?.proposer?.agentId].filter((p): p is string => !!p);
  const own = approving && claims.deciders.find((d) => proposers.includes(d));
  if (own) return refuse('not-authorised', `separation of duties: ${own} proposed this action and is among its approvers`);
  return { ok: true, claims };
}

const refuse = (code: Refusal['code'], reason: string) => ({ ok: false as const, refusal: { code, reason } });
