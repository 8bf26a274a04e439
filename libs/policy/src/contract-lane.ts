import { randomBytes } from 'node:crypto';
import type { Lane } from '@countersign/contracts';
import { AutonomyLevel, evaluate, issueScopedToken, ProposalInput } from './evaluate';
import type { RunningContract } from './running-contract';

/** A key of this process's own, for the scoped tokens of the reading below (never a real token's key). */
const RECHECK_KEY = randomBytes(32);

/**
 * The running contract's own lane for a proposal as read at `at`: its rules, thresholds, prohibitions, schemas and
 * guardrails, with every other input of the policy engine at its least strict (each only ever makes a decision
 * stricter), and a privileged type's scoped token granted (the policy engine checked the real one). What a decision made
 * under an older contract, or an approval given under one, is judged by once the contract has changed: the executor
 * before it runs one, the review queue on the card (docs/adr/0036).
 */
export function contractLane(running: RunningContract, proposal: ProposalInput, actionId: string, at: Date, autonomy: AutonomyLevel = 'autonomous'): Lane {
  const granted = { ...proposal, scopedToken: issueScopedToken(RECHECK_KEY, proposal.actionType, new Date(at.getTime() + 60_000)) };
  return evaluate(running.compiledContract(), granted, {
    killSwitch: 'on',
    degradationMode: 'normal',
    trustStackHealthy: true,
    autonomy,
    scopedTokenKey: RECHECK_KEY,
    now: at,
    actionId,
  }).lane;
}
