import { verifyApproval, VerifyKeys } from '@countersign/approval';
import type { ActionRefusedV1 } from '@countersign/contracts';
import type { z } from 'zod';
import type { ActionRecord, ReviewDecidedEvent } from '../execution/execution.repository';

type Refusal = Pick<z.infer<typeof ActionRefusedV1>, 'code' | 'reason'>;

export type ApprovalVerdict = { ok: true; nonce: string } | { ok: false; refusal: Refusal };

/**
 * Whether an approval on the bus authorises executing `record`: a valid signature by a known key, not
 * expired, naming this very action, bound to the digest the policy engine decided on, for an action
 * the contract sent to review. Anything else executes nothing and is reported as an attack.
 */
export function checkApproval(event: ReviewDecidedEvent, record: ActionRecord | undefined, keys: VerifyKeys, now: Date): ApprovalVerdict {
  if (!event.data.approval) return { ok: false, refusal: { code: 'invalid-approval', reason: 'approved without an approval token' } };
  const verified = verifyApproval(event.data.approval, keys, now);
  if (!verified.ok) return { ok: false, refusal: { code: 'invalid-approval', reason: verified.reason } };
  const claims = verified.claims;
  if (claims.actionId !== event.subject) {
    return { ok: false, refusal: { code: 'approval-for-other-action', reason: `the approval names action ${claims.actionId}, not ${event.subject}` } };
  }
  if (!record) return { ok: true, nonce: claims.nonce };
  if (record.lane !== 'review') {
    return { ok: false, refusal: { code: 'not-authorised', reason: `the action is in the ${record.lane} lane; an approval cannot authorise it` } };
  }
  if (claims.digest !== record.digest || event.data.digest !== record.digest) {
    return { ok: false, refusal: { code: 'digest-mismatch', reason: 'the approval is bound to another version of the action (digest mismatch)' } };
  }
  return { ok: true, nonce: claims.nonce };
}
