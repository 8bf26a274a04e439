import { actionDigest } from '@countersign/contracts';
import { AutonomyLevel, compareVersions, contractLane, RunningContract } from '@countersign/policy';
import type { ActionRecord } from '../execution/execution.repository';

/** What the executor makes of an autonomous decision before it runs it (`checkAutonomousDecision`). */
export type AutonomyVerdict =
  | { ok: true }
  /** Decided under a contract this executor does not run yet: retried until the change reaches it (or the hold runs out). */
  | { ok: false; wait: string }
  | { ok: false; refusal: { code: 'digest-mismatch' | 'not-authorised'; reason: string }; suspicious: boolean };

/**
 * An autonomous decision is read from the bus: the Kafka ACLs keep other writers off its topic, and this check keeps a
 * decision the policy engine could not have made from running whoever wrote it (red team, round 14: a decision produced
 * by hand, for a proposal never made, ran a 50,000 EUR refund). The proposal must be the one its digest names, and the
 * running contract's own lane for it must be autonomous: the contract's rules, thresholds, prohibitions, schemas and
 * guardrails, read on the proposal as decided at `decidedAt`. Every other input of the policy engine (kill switches,
 * autonomy, mode, trust, rate and aggregate limits, anomalies) only ever makes a decision stricter, so a genuine
 * autonomous decision passes. A privileged type's scoped token is the policy engine's to check (it holds the key).
 * A decision made under another contract version than the one running is judged by the running one when that is newer
 * (the contract changed since: not run if it no longer allows it), and waited on when it is older.
 */
export function checkAutonomousDecision(
  record: Pick<ActionRecord, 'actionId' | 'digest' | 'proposal'> & { contractVersion: string },
  decidedAt: Date,
  running: RunningContract,
): AutonomyVerdict {
  if (actionDigest(record.proposal, record.contractVersion) !== record.digest) {
    return {
      ok: false,
      suspicious: true,
      refusal: { code: 'digest-mismatch', reason: "the decision's digest is not its proposal's: not a decision the policy engine made; not executed" },
    };
  }
  const current = running.current().version;
  const order = compareVersions(record.contractVersion, current);
  if (order > 0) return { ok: false, wait: `decided under contract ${record.contractVersion}; this executor runs ${current} until the change reaches it` };
  const lane = contractLane(running, record.proposal, record.actionId, decidedAt);
  if (lane === 'autonomous') return { ok: true };
  return order === 0
    ? {
        ok: false,
        suspicious: true,
        refusal: {
          code: 'not-authorised',
          reason: `decided autonomous, but contract ${current} sends this proposal to ${lane}: not a decision the policy engine made; not executed`,
        },
      }
    : {
        ok: false,
        suspicious: false,
        refusal: {
          code: 'not-authorised',
          reason: `decided autonomous under contract ${record.contractVersion}; contract ${current} now sends it to ${lane}: not executed`,
        },
      };
}

/**
 * What the executor makes of a reviewer's approval against the contract it runs: an approval given under an older
 * contract than the running one is not executed when the running contract prohibits the proposal (lifecycle probe,
 * 2026-12-05: a refund approved after the change that prohibited such refunds ran, though ADR 0036 stops what the
 * policy engine decided autonomously under the old contract). A change that only moves the proposal between review
 * and autonomy leaves the approval standing; one made under a newer contract than this executor's, or the same, stands.
 */
export function checkApprovalUnderContract(
  record: Pick<ActionRecord, 'actionId' | 'proposal'> & { contractVersion: string },
  approvedAt: Date,
  running: RunningContract,
): AutonomyVerdict {
  const current = running.current().version;
  if (compareVersions(record.contractVersion, current) >= 0) return { ok: true };
  // Read at the approval's time: a rule of the hours prohibits what is approved in them.
  if (contractLane(running, record.proposal, record.actionId, approvedAt) !== 'prohibited') return { ok: true };
  return {
    ok: false,
    suspicious: false,
    refusal: {
      code: 'not-authorised',
      reason: `approved under contract ${record.contractVersion}; contract ${current} now prohibits this proposal: not executed`,
    },
  };
}

/**
 * An autonomous decision against the autonomy level in force now (`level`, read from the flags as the policy engine reads
 * it): a level lowered since the decision that would send the proposal to review, or prohibit it, stops it for good, as a
 * kill switch turned off does (lifecycle probe, 2026-12-05: with a halt holding autonomous work for up to a day, a
 * lowering during the incident did not reach the held backlog, which ran unreviewed when the halt lifted). A level
 * that cannot be read (`unknown`) adds nothing here: the decision read one, and the kill switch is the brake that fails
 * closed at execution.
 */
export function checkAutonomyNow(
  record: Pick<ActionRecord, 'actionId' | 'proposal'>,
  decidedAt: Date,
  running: RunningContract,
  level: AutonomyLevel,
): AutonomyVerdict {
  if (level === 'autonomous' || level === 'unknown') return { ok: true };
  const lane = contractLane(running, record.proposal, record.actionId, decidedAt, level);
  if (lane === 'autonomous') return { ok: true };
  return {
    ok: false,
    suspicious: false,
    refusal: {
      code: 'not-authorised',
      reason: `decided autonomous; autonomy for ${record.proposal.actionType} is ${level} now, which sends it to ${lane}: not executed (propose it again)`,
    },
  };
}
