import type { TargetRecord } from './target';

/** What the harness meant for one proposal: run on its own, or go to review and be approved or rejected there. */
export type Intent = 'autonomous' | 'approve' | 'reject';

export interface ProposalRun {
  index: number;
  /** The proposal's `target`, unique per proposal: how the target system's records are matched to it. */
  target: string;
  intent: Intent;
  /** The action id of the 202 that accepted it (the latest proposal of it); absent when the client gave up (`gaveUp` says why). */
  actionId?: string;
  gaveUp?: string;
  /**
   * Earlier actions of this proposal that were not to run, for a reason that asked the agent to propose it again later:
   * the review queue rejected it at intake because the agent already had the contract's most approvals waiting
   * (`proposer_backlog_full`), or the policy engine prohibited it with `retryLater` (the trust stack's verdict unknown in
   * an outage, a degradation mode). The agent proposed it again, as the reason asks. Each must never reach the target.
   */
  replaced?: Array<{ actionId: string; reason: string }>;
}

/** Where an action ended, as the harness learnt it after quiet. */
export interface Outcome {
  /** The orchestrator's view (`GET /v1/actions/{id}`), or undefined when it answered 404. */
  view?: string;
  /** The terminal state the audit log records for it, if any (executed, failed, refused, prohibited, rejected, expired). */
  audited?: string;
  /** A pending item in the review queue waits for a human (an approval, or a "did this happen?" check). */
  humanItem?: boolean;
}

const TERMINAL = new Set(['executed', 'failed', 'refused', 'prohibited', 'rejected', 'expired', 'cancelled']);

export interface Figures {
  proposals: number;
  accepted: number;
  notAccepted: number;
  /** Accepted proposals that should reach the target: autonomous ones and the approved. */
  expectedEffects: number;
  executed: number;
  effects: { distinct: number; duplicate: number; deliveries: number; redeliveries: number; ofNotAccepted: number };
  /** Should have reached the target, and did not. */
  lost: string[];
  /** Reached the target more than once (under different keys: two actions of one proposal). */
  duplicated: string[];
  /** Reached the target though the reviewer rejected it (or an action of it the agent was told to propose again). */
  unapproved: string[];
  /** Proposals the agent was told to propose again at least once, the re-proposals that took, and those by reason. */
  proposedAgain: { proposals: number; reproposals: number; byReason: Record<string, number> };
  /** Accepted, and neither in a terminal state nor waiting for a human. */
  stuck: Array<{ target: string; actionId: string; status: string }>;
  waitingForHuman: number;
  viewsMissing: number;
  byStatus: Record<string, number>;
}

/** Counts what happened to every proposal: lost, duplicated, stuck, from the target's records and the outcomes. */
export function tally(runs: ProposalRun[], outcomes: Map<string, Outcome>, byTarget: Map<string, TargetRecord>): Figures {
  const f: Figures = {
    proposals: runs.length,
    accepted: 0,
    notAccepted: 0,
    expectedEffects: 0,
    executed: 0,
    effects: { distinct: 0, duplicate: 0, deliveries: 0, redeliveries: 0, ofNotAccepted: 0 },
    lost: [],
    duplicated: [],
    unapproved: [],
    proposedAgain: { proposals: 0, reproposals: 0, byReason: {} },
    stuck: [],
    waitingForHuman: 0,
    viewsMissing: 0,
    byStatus: {},
  };
  for (const rec of byTarget.values())
    for (const n of rec.keys.values()) {
      f.effects.deliveries += n;
      f.effects.redeliveries += n - 1;
    }
  for (const run of runs) {
    const rec = byTarget.get(run.target);
    const keys = rec?.keys.size ?? 0;
    if (keys > 0) f.effects.distinct++;
    if (keys > 1) {
      f.effects.duplicate += keys - 1;
      f.duplicated.push(run.target);
    }
    if (!run.actionId) {
      f.notAccepted++;
      if (keys > 0) f.effects.ofNotAccepted++;
      continue;
    }
    f.accepted++;
    if (run.replaced?.length) {
      f.proposedAgain.proposals++;
      f.proposedAgain.reproposals += run.replaced.length;
      for (const { reason } of run.replaced) f.proposedAgain.byReason[reason] = (f.proposedAgain.byReason[reason] ?? 0) + 1;
    }
    if (run.intent !== 'reject') {
      f.expectedEffects++;
      if (keys === 0) f.lost.push(run.target);
    }
    // Rejected by the reviewer, or an action the agent was told to propose again (final for that action, whatever the plan), yet run.
    if ((run.intent === 'reject' && keys > 0) || run.replaced?.some((r) => rec?.actionIds.has(r.actionId))) f.unapproved.push(run.target);
    const o = outcomes.get(run.actionId) ?? {};
    if (o.view === undefined) f.viewsMissing++;
    // The view says where the action stands; when the view is gone, the audit log's terminal state stands in.
    const status = o.view ?? o.audited ?? 'unknown';
    f.byStatus[status] = (f.byStatus[status] ?? 0) + 1;
    if (status === 'executed') f.executed++;
    if (TERMINAL.has(status)) continue;
    if (o.humanItem) f.waitingForHuman++;
    else f.stuck.push({ target: run.target, actionId: run.actionId, status });
  }
  return f;
}

/** The goals of a chaos run, each met or not. */
export function goals(f: Figures, audit: { complete: boolean; verified: boolean }) {
  return [
    { name: '0 lost', ok: f.lost.length === 0 },
    { name: '0 duplicate', ok: f.effects.duplicate === 0 },
    { name: '0 executed without approval', ok: f.unapproved.length === 0 },
    { name: '0 stuck', ok: f.stuck.length === 0 },
    { name: 'audit complete', ok: audit.complete },
    { name: 'audit verified', ok: audit.verified },
  ];
}
