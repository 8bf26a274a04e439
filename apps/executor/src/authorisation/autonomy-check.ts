import { randomBytes } from 'node:crypto';
import { actionDigest } from '@countersign/contracts';
import { compareVersions, evaluate, issueScopedToken, RunningContract } from '@countersign/policy';
import type { ActionRecord } from '../execution/execution.repository';

/** What the executor makes of an autonomous decision before it runs it (`checkAutonomousDecision`). */
export type AutonomyVerdict =
  | { ok: true }
  /** Decided under a contract this executor does not run yet: retried until the change reaches it (or the hold runs out). */
  | { ok: false; wait: string }
  | { ok: false; refusal: { code: 'digest-mismatch' | 'not-authorised'; reason: string }; suspicious: boolean };

/** A key of this process's own, for the scoped tokens of the re-check below (never a real token's key). */
const RECHECK_KEY = randomBytes(32);

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
  const proposal = {
    ...record.proposal,
    scopedToken: issueScopedToken(RECHECK_KEY, record.proposal.actionType, new Date(decidedAt.getTime() + 60_000)),
  };
  const lane = evaluate(running.compiledContract(), proposal, {
    killSwitch: 'on',
    degradationMode: 'normal',
    trustStackHealthy: true,
    autonomy: 'autonomous',
    scopedTokenKey: RECHECK_KEY,
    now: decidedAt,
    actionId: record.actionId,
  }).lane;
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
