import { ContractError, LoadedContract, parseContract } from './contract';

/** An approved change request: who asked, who approved (never the same person). */
export interface ContractChange {
  changeRequestId: string;
  requestedBy: string;
  approvedBy: string;
}

export type ChangeResult = { ok: true; contract: LoadedContract } | { ok: false; reason: string };

/**
 * Whether a candidate contract may replace the running one. An invalid contract never replaces a valid
 * one; nor does an unapproved, self-approved or same-version change.
 */
export function acceptContractChange(current: LoadedContract, candidateText: string, file: string, change: Partial<ContractChange>): ChangeResult {
  if (!change.changeRequestId) return { ok: false, reason: 'a contract change needs a change request id' };
  if (!change.approvedBy) return { ok: false, reason: `change ${change.changeRequestId} is not approved` };
  if (change.approvedBy === change.requestedBy) return { ok: false, reason: `change ${change.changeRequestId} is approved by its own requester` };
  let candidate: LoadedContract;
  try {
    candidate = parseContract(candidateText, file);
  } catch (e) {
    return { ok: false, reason: `the new contract is invalid, keeping ${current.version}: ${e instanceof ContractError ? e.message : (e as Error).message}` };
  }
  if (candidate.version === current.version && candidate.hash !== current.hash) return { ok: false, reason: `the new contract changes content but keeps version ${current.version}` };
  return { ok: true, contract: candidate };
}
