import { issuedTooLongAgo, ReviewDecisionClaims, verifyReviewDecision, VerifyKeys } from '@countersign/approval';
import type { ActionRefusedV1, TOPICS, TopicMap } from '@countersign/contracts';
import type { z } from 'zod';
import type { ActionRecord } from '../execution/execution.repository';

/** A person's answer to "did this happen?", as the executor receives it (verified before it changes anything). */
export type OutcomeAnsweredEvent = TopicMap[typeof TOPICS.outcomeCheckAnswered];

type Refusal = Pick<z.infer<typeof ActionRefusedV1>, 'code' | 'reason'>;
export type AnswerVerdict = { ok: true; claims: ReviewDecisionClaims } | { ok: false; refusal: Refusal };

/**
 * Whether an answer on the bus is the review queue's genuine answer on `record`: a token that verifies (known key,
 * signature), signs this very answer (`happened` or `not-happened`), names this action, and is bound to the digest
 * the action was executed under. Anything else must change nothing: a forged "it happened" would close an action
 * whose effect never took place, a forged "it did not" would hide one that did.
 */
export function checkOutcomeAnswer(event: OutcomeAnsweredEvent, record: ActionRecord | undefined, keys: VerifyKeys, now: Date): AnswerVerdict {
  const answer = event.data.happened ? 'happened' : 'not-happened';
  const verified = verifyReviewDecision(event.data.signature, keys, now);
  if (!verified.ok) return refuse('invalid-decision', `outcome-check answer: ${verified.reason}`);
  const claims = verified.claims;
  // An answer carries no expiry: one issued long ago was signed by a key dated back (a retired one), not by a person of today.
  const tooOld = issuedTooLongAgo(claims, now);
  if (tooOld) return refuse('invalid-decision', `outcome-check answer: ${tooOld}`);
  if (claims.decision !== answer) return refuse('decision-mismatch', `the token signs "${claims.decision}", the answer says "${answer}"`);
  if (claims.actionId !== event.subject) return refuse('decision-for-other-action', `the answer names action ${claims.actionId}, not ${event.subject}`);
  if (!record) return refuse('not-authorised', `no execution of action ${event.subject} is known here: nothing awaits this answer`);
  if (claims.digest !== event.data.digest || claims.digest !== record.digest)
    return refuse('digest-mismatch', 'the answer is bound to another version of the action (digest mismatch)');
  return { ok: true, claims };
}

const refuse = (code: Refusal['code'], reason: string) => ({ ok: false as const, refusal: { code, reason } });
