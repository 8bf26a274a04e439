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
  masking?: {
    nationalIds?: Array<{
      name: string;
      pattern: string;
    }>;
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
  /**
   * Reference currency and rate table: money conditions and aggregates compare in the reference currency (see
   * money.ts).
   */
  money?: MoneySettings;
  /** Regulated data (cards, IBANs, e-mail, national ids) in the parameters of outbound action types. */
  guardrails?: {
    regulatedDataInOutboundText?: 'review' | 'prohibited';
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
  /** `target`, or the `parameters.X` that names the customer (a proposal without it counts under its target). */
  per: string;
  windowSeconds: number;
  maxCount?: number;
  /** In the reference currency, summed over the window; needs `amount`. */
  maxAmount?: number;
  /** The money field summed (e.g. `parameters.amount`). */
  amount?: string;
  onExceed: 'review' | 'prohibited';
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
