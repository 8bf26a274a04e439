// Generated from libs/policy/contract.schema.json by `npm run policy:generate`: do not edit (a test fails when they differ).
import type { Lane } from '@countersign/contracts';
import type { Condition } from './conditions';

/**
 * The operational contract, as written (YAML): what each action type of the governed service may do, on which lane,
 * under which rules. The one definition of its shape: the TypeScript types (libs/policy/src/contract.types.ts) are
 * generated from it (npm run policy:generate).
 */
export interface OperationalContract {
  version: string | number;
  service: {
    name: string;
    model: {
      type: string;
      version: string;
    };
    dataSources: string[];
    owners: {
      product: string;
      platform: string;
      security: string;
      sre: string;
    };
  };
  slaClasses: Record<string, number>;
  /**
   * When a pending review escalates and to whom: at `atShare` of its SLA (default 0.5) each required role gains its
   * next tier (`nextTier`, e.g. finance: finance-lead; a role without one gains none). At the whole SLA the item
   * expires, or goes once to its `whenUnavailable` fallback team: a timeout never approves.
   */
  escalation?: {
    atShare?: number;
    nextTier?: Record<string, string>;
  };
  /**
   * How the review backlog and the governance SLOs drive the degradation mode (normal → elevated → constrained →
   * halted). Signals: `pending` (approval items waiting), `oldestAgeShare` (the oldest pending item's age as a share of
   * its class's SLA, the worst class), `pendingPerReviewer` (pending items of a role per reviewer of that role on
   * shift, the worst role; a role with items and nobody on shift is infinite), `burnRate` (the governance SLO's
   * error-budget burn rate over `slo.burnWindowSeconds`, the worst class). A level is entered at once when one signal
   * reaches its `enter` value, and left only after `minDwellSeconds` in it and once every signal is below its `exit`
   * value. An exhausted error budget holds the mode at `slo.onBudgetExhausted` at least.
   */
  degradation?: {
    /**
     * The most approvals one proposer (its authenticated principal) may have waiting. An approval queued beyond it is
     * rejected at once by the review queue (reason code `proposer_backlog_full`), never executed, and does not count in
     * the backlog: one agent flooding the review lane cannot raise the mode past what its own share reaches, so set it
     * below the `constrained` enter threshold of `pending`. Absent: no cap.
     */
    maxPendingPerProposer?: number;
    /**
     * The most approvals one tenant (the proposal's `tenant`) may have waiting, whichever of its agents proposed them.
     * An approval queued beyond it is rejected at once by the review queue (reason code `tenant_backlog_full`), never
     * executed, and does not count in the backlog: several agents of one tenant flooding the review lane together
     * cannot raise the mode past what the tenant's share reaches, so set it below the `constrained` enter threshold of
     * `pending`. Absent: no cap.
     */
    maxPendingPerTenant?: number;
    minDwellSeconds: number;
    /**
     * Per SLA class: `target` of the items decided in `windowSeconds` were decided within their SLA (an expired item is
     * a miss); `classTargets` overrides the target per class. A class with fewer than `minDecided` items decided in a
     * window (default 20) has no budget spent and no burn rate there: a handful of items is no trend.
     */
    slo?: {
      target: number;
      classTargets?: Record<string, number>;
      windowSeconds: number;
      burnWindowSeconds: number;
      minDecided?: number;
      onBudgetExhausted: 'elevated' | 'constrained' | 'halted';
    };
    elevated: {
      /**
       * Signals and their thresholds; a signal reaching its `enter` value raises the mode to this level, and the level
       * is left only once every signal is below its `exit` value (hysteresis).
       */
      enter: {
        pending?: number;
        oldestAgeShare?: number;
        pendingPerReviewer?: number;
        burnRate?: number;
      };
      /**
       * Signals and their thresholds; a signal reaching its `enter` value raises the mode to this level, and the level
       * is left only once every signal is below its `exit` value (hysteresis).
       */
      exit: {
        pending?: number;
        oldestAgeShare?: number;
        pendingPerReviewer?: number;
        burnRate?: number;
      };
    };
    constrained: {
      /**
       * Signals and their thresholds; a signal reaching its `enter` value raises the mode to this level, and the level
       * is left only once every signal is below its `exit` value (hysteresis).
       */
      enter: {
        pending?: number;
        oldestAgeShare?: number;
        pendingPerReviewer?: number;
        burnRate?: number;
      };
      /**
       * Signals and their thresholds; a signal reaching its `enter` value raises the mode to this level, and the level
       * is left only once every signal is below its `exit` value (hysteresis).
       */
      exit: {
        pending?: number;
        oldestAgeShare?: number;
        pendingPerReviewer?: number;
        burnRate?: number;
      };
    };
    halted: {
      /**
       * Signals and their thresholds; a signal reaching its `enter` value raises the mode to this level, and the level
       * is left only once every signal is below its `exit` value (hysteresis).
       */
      enter: {
        pending?: number;
        oldestAgeShare?: number;
        pendingPerReviewer?: number;
        burnRate?: number;
      };
      /**
       * Signals and their thresholds; a signal reaching its `enter` value raises the mode to this level, and the level
       * is left only once every signal is below its `exit` value (hysteresis).
       */
      exit: {
        pending?: number;
        oldestAgeShare?: number;
        pendingPerReviewer?: number;
        burnRate?: number;
      };
    };
  };
  masking?: {
    nationalIds?: Array<{
      name: string;
      pattern: string;
    }>;
  };
  /**
   * How the review queue measures the quality of human decisions (ADR 0018). `canaries`: known-bad proposals injected
   * beside real approval items of the same action type at `rate` (per real item queued), indistinguishable on the card,
   * never executed; approving one is a miss, audited and shown to leads. `secondReview`: the share of human decisions a
   * second reviewer decides again, blind to the first; the first decision stands. `outliers`: reviewers whose approval
   * rate or dwell time is more than `threshold` robust z-scores (median absolute deviation) from their peers', once
   * they have `minDecisions` decisions.
   */
  decisionQuality?: {
    canaries?: {
      rate: number;
      templates: Array<{
        id: string;
        actionType: string;
        target: string;
        parameters: Record<string, unknown>;
        reasons: string[];
        why: string;
      }>;
    };
    secondReview?: {
      rate: number;
    };
    outliers?: {
      minDecisions: number;
      threshold: number;
    };
  };
  sampling?: {
    autonomousShare: number;
    seed: string;
  };
  scoring?: Array<{
    id: string;
    when: Condition;
    points: number;
    actionTypes?: string[];
  }>;
  rateLimits?: Array<{
    id: string;
    actionTypes: string[];
    per: 'tenant' | 'actor';
    limit: number;
    windowSeconds: number;
    onExceed: 'review' | 'prohibited';
  }>;
  aggregateLimits?: AggregateLimit[];
  anomalies?: AnomalyRule[];
  /**
   * Reference currency and rate table: money conditions and aggregates compare in the reference currency (see
   * money.ts).
   */
  money?: MoneySettings;
  /**
   * Regulated data (cards, IBANs, e-mail, national ids) in the parameters of outbound action types; payment card
   * numbers in the parameters of any action type.
   */
  guardrails?: {
    regulatedDataInOutboundText?: 'review' | 'prohibited';
    /**
     * A payment card number anywhere in the parameters of any action type (a refund's reason, a note): no agent needs
     * one to act.
     */
    cardDataInParameters?: 'review' | 'prohibited';
  };
  actions: Record<string, ActionSpec>;
  rules?: Array<{
    id: string;
    actionTypes: string[];
    when: Condition;
    lane: 'review' | 'prohibited';
    reason: string;
    review?: ReviewSettings;
  }>;
  prohibited?: Array<{
    id: string;
    actionTypes?: string[];
    when?: Condition;
    reason: string;
  }>;
}

/** Count and summed amount per target or per customer over a window (see rate-limit.ts). */
export interface AggregateLimit {
  id: string;
  actionTypes: string[];
  /**
   * `target`, or the `parameters.X` that names the customer (a proposal without it counts under its target). Always
   * within the proposal's tenant.
   */
  per: string;
  windowSeconds: number;
  maxCount?: number;
  /** In the reference currency, summed over the window; needs `amount`. */
  maxAmount?: number;
  /** The money field summed (e.g. `parameters.amount`). */
  amount?: string;
  onExceed: 'review' | 'prohibited';
  /**
   * When `per` names a parameter and a proposal does not carry it (so this limit cannot count it per customer):
   * `per-target` counts it under its target (the default), `review` or `prohibited` also decides it so. Only with a
   * `per` parameter.
   */
  whenMissing?: 'per-target' | 'review' | 'prohibited';
}

/**
 * A sudden change in one proposer agent's behaviour: its proposals over a short window against its own baseline over a
 * long one (see anomaly.ts). It only ever makes a decision stricter.
 */
export interface AnomalyRule {
  id: string;
  /**
   * `confidence-rise`: the mean confidence; `autonomous-share-rise`: the share of proposals the contract lets run on
   * their own; `volume-rise`: proposals per minute.
   */
  kind: 'confidence-rise' | 'autonomous-share-rise' | 'volume-rise';
  /** The action types it counts together; all when absent. */
  actionTypes?: string[];
  shortWindowSeconds: number;
  /** At least twice the short window; the baseline ends where the short window starts. */
  baselineWindowSeconds: number;
  /** Proposals in the short window before the rule can fire (no noise on three proposals). */
  minCount: number;
  /** Proposals in the baseline before it counts (cold start: only `ceiling` fires); minCount when absent. */
  baselineMinCount?: number;
  /** Rise kinds: fires when the short window's mean (or share) exceeds the baseline's by more than this. */
  by?: number;
  /** Rise kinds: fires when the short window's mean (or share) is above this, baseline or not. */
  ceiling?: number;
  /** volume-rise: fires when the short window's rate is at least this many times the baseline's. */
  factor?: number;
  /** volume-rise: fires when the short window's rate is at least this, baseline or not. */
  ceilingPerMinute?: number;
  onDetect: 'review' | 'prohibited';
}

/**
 * Reference currency and rate table: money conditions and aggregates compare in the reference currency (see money.ts).
 */
export interface MoneySettings {
  /** The currency every money condition and aggregate compares in. */
  reference: string;
  /** When the rates were taken (for the reader; not used in decisions). */
  asOf?: string;
  /** Units of the reference currency for one unit of each currency (the reference itself is 1). */
  rates: Record<string, number>;
  /** What an amount in a currency missing from the table demands: review (the default) or prohibited. */
  unknownCurrency?: 'review' | 'prohibited';
}

/** One action type: its risk profile, default lane, review settings and typed parameters. */
export interface ActionSpec {
  /** Who answers for this action type (lint flags a missing owner). */
  owner?: string;
  reversibility: 'reversible' | 'partial' | 'irreversible';
  customerImpact: 'none' | 'low' | 'medium' | 'high';
  regulatorySensitivity: 'none' | 'low' | 'high';
  blastRadius: 'single' | 'tenant' | 'global';
  lane: Lane;
  reason: string;
  privileged?: boolean;
  thresholds?: {
    review?: number;
    prohibited?: number;
  };
  review?: ReviewSettings;
  /** The action's parameters as JSON Schema 2020-12, with the `money` and `currency` keywords (see parameters.ts). */
  parameters: Record<string, unknown>;
  /** Its parameters are text sent outside (a reply, a notification): the regulated-data guardrail reads them. */
  outbound?: boolean;
}

/**
 * How an action in the review lane is reviewed: SLA class, required roles, quorum, and what happens when no reviewer
 * can be reached.
 */
export interface ReviewSettings {
  slaClass: string;
  requiredRoles: string[];
  quorum: number;
  whenUnavailable:
    | 'fail-closed'
    | {
        fallback: string;
      };
}
