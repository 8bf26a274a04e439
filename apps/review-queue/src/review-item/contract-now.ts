import { compareVersions, contractLane, RunningContract } from '@countersign/policy';
import type { ReviewItem } from './review-item.repository';
import { ProposalSealer, realProposalOf } from './sealed-proposal';

/**
 * What the running contract makes of a pending item queued under an older one: `prohibited` when it now prohibits the
 * proposal (an approval of it will not execute: the executor judges an approval given under an older contract by the
 * running one, docs/adr/0036 addendum), otherwise nothing. Read on the real proposal (the sealed copy, checked against
 * the item's digest), never on the masked one the card shows: masking changes what the rules read.
 */
export type ContractNow = (item: ReviewItem, at?: Date) => { prohibitedBy: string } | undefined;

/**
 * The running contract's reading of a waiting item, for the card (lifecycle probe, 2026-12-05: a reviewer approved a
 * refund the contract had prohibited since it was queued and learnt it only from the executor's refusal). An item
 * without a sealed copy, or whose copy does not open or match its digest, gets no reading: the executor still judges it.
 */
export function contractNow(running: RunningContract, sealer: ProposalSealer): ContractNow {
  return (item, at = new Date()) => {
    const current = running.current().version;
    if (item.status !== 'pending' || compareVersions(item.contractVersion, current) >= 0) return undefined;
    const real = realProposalOf(sealer, item);
    if (!real.ok) return undefined;
    return contractLane(running, real.proposal, item.actionId, at) === 'prohibited' ? { prohibitedBy: current } : undefined;
  };
}
