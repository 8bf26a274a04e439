import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ValidateFunction } from 'ajv';
import { ProposalSchema } from '@countersign/contracts';
import { compileCondition, Predicate, readPath } from './conditions';
import { Lane, LoadedContract, ReviewSettings } from './contract';
import { NO_IDENTIFIER_KEYS, regulatedKinds } from '@countersign/guardrails';
import { maskDeep, MaskingOptions, maskText } from '@countersign/guardrails';
import { AgentWindowStats, anomalyOf } from './anomaly';
import { MoneyField, moneyReader } from './money';
import { compileParameterSchema, moneyFieldsOf, schemaIssues, tooDeepOrLarge } from './parameters';
import { certainlyValidProposal } from './proposal-shape';
import { namedSubject } from './rate-limit';
import { protectedAssetOf } from './self-protection';

/** What an agent proposes (the shape of `libs/contracts`' Proposal, kept structural: no dependency). */
export interface ProposalInput {
  actionType: string;
  target: string;
  parameters: Record<string, unknown>;
  proposer: { agentId: string; model: { name: string; version: string }; promptTemplateVersion: string };
  confidence: number;
  tenant: string;
  region: string;
  context: Record<string, unknown>;
  scopedToken?: string;
}

export type FlagInput = 'on' | 'off' | 'unknown';
export type DegradationMode = 'normal' | 'elevated' | 'constrained' | 'halted' | 'unknown';
export type AutonomyLevel = 'off' | 'review-all' | 'review-risky' | 'autonomous' | 'unknown';
const KNOWN_MODES: ReadonlySet<string> = new Set<DegradationMode>(['normal', 'elevated', 'constrained', 'halted']);
const KNOWN_LEVELS: ReadonlySet<string> = new Set<AutonomyLevel>(['off', 'review-all', 'review-risky', 'autonomous']);

/** Inputs beyond the contract. Anything `unknown` fails closed (see `PRECEDENCE`). */
export interface DecisionInputs {
  killSwitch: FlagInput;
  degradationMode: DegradationMode;
  trustStackHealthy: boolean | 'unknown';
  autonomy: AutonomyLevel;
  /** Ids of the contract's rate limits this proposal exceeds (from `checkRateLimits`). */
  rateLimited?: string[];
  /** Ids of the contract's aggregate limits this proposal exceeds (from `checkAggregateLimits`). */
  aggregateLimited?: string[];
  /**
   * The proposer agent's statistics per anomaly rule id (from `observeAgentStats`, this proposal included); a
   * rule without them is not checked (the policy CLI). The decision service never decides without them.
   */
  agentStats?: Record<string, AgentWindowStats>;
  /** Key that verifies scoped tokens for privileged action types. */
  scopedTokenKey?: Buffer;
  now: Date;
  /** For deterministic sampling; the target is used when absent. */
  actionId?: string;
}

/** Who decided: the highest-precedence input that demanded the final lane. */
export type DecidedBy = 'prohibited-rule' | 'kill-switch' | 'degradation' | 'trust-stack' | 'autonomy' | 'contract';

/** The fixed precedence, highest first. Nothing lower can make a decision less strict than anything higher demands. */
export const PRECEDENCE: readonly DecidedBy[] = ['prohibited-rule', 'kill-switch', 'degradation', 'trust-stack', 'autonomy', 'contract'];

export type RiskClass = 'low' | 'medium' | 'high';

/** The share of its SLA after which a pending review escalates, when the contract does not say. */
export const DEFAULT_ESCALATION_SHARE = 0.5;

/** When a pending review escalates (`atShare` of its SLA) and the roles it then gains (`to`). */
export interface ReviewEscalation {
  atShare: number;
  to: string[];
}

/** A decision with its explanation (lane, who decided, rules fired, reasons), ready to show a reviewer and to audit. */
export interface Decision {
  lane: Lane;
  decidedBy: DecidedBy;
  contractVersion: string;
  contractHash: string;
  rulesFired: string[];
  reasons: string[];
  score: number;
  riskClass: RiskClass;
  review?: ReviewSettings & { slaSeconds: number; escalation: ReviewEscalation };
  /** Constrained mode blocked it for now: the agent should retry later. */
  retryLater?: boolean;
  sampledForAudit: boolean;
}

const STRICT: Record<Lane, number> = { autonomous: 0, review: 1, prohibited: 2 };

interface CompiledAction {
  type: string;
  spec: LoadedContract['actions'][string];
  /** `<type>.lane`, the rule name of the contract's own lane, made once. */
  laneRule: string;
  /** The parameter schema, compiled once. */
  validate: ValidateFunction;
  /** Its money fields: conditions on them compare in the reference currency (paths split once, here). */
  money: Array<MoneyField & { amountPath: string[]; currencyPath: string[] }>;
  rules: Array<{ id: string; when: Predicate; lane: 'review' | 'prohibited'; reason: string; review?: ReviewSettings }>;
  prohibited: Array<{ id: string; when: Predicate; reason: string }>;
  /** `fired` is the name it adds to `rulesFired`, made once. */
  scoring: Array<{ id: string; when: Predicate; points: number; fired: string }>;
}

/** A contract compiled for evaluation: rules indexed by action type, conditions compiled to closures. */
export interface CompiledContract {
  contract: LoadedContract;
  actions: Map<string, CompiledAction>;
  masking: MaskingOptions;
}

const always: Predicate = () => true;

export function compileContract(contract: LoadedContract): CompiledContract {
  const actions = new Map<string, CompiledAction>();
  for (const [type, spec] of Object.entries(contract.actions)) {
    const money = moneyFieldsOf(spec.parameters);
    // A condition on a money field of this type reads the amount in the reference currency.
    const readers = new Map(money.map((m) => [m.amount, moneyReader(m, contract.money)]));
    const options = { readerFor: (field: string) => readers.get(field) };
    actions.set(type, {
      type,
      spec,
      laneRule: `${type}.lane`,
      validate: compileParameterSchema(spec.parameters),
      money: money.map((m) => ({ ...m, amountPath: m.amount.split('.'), currencyPath: m.currency.split('.') })),
      rules: (contract.rules ?? []).filter((r) => r.actionTypes.includes(type)).map((r) => ({ ...r, when: compileCondition(r.when, options) })),
      // Global prohibited rules first, compiled per type too, so that their money conditions convert as well.
      prohibited: (contract.prohibited ?? [])
        .filter((p) => !p.actionTypes || p.actionTypes.includes(type))
        .map((p) => ({ id: p.id, reason: p.reason, when: p.when ? compileCondition(p.when, options) : always })),
      scoring: (contract.scoring ?? [])
        .filter((s) => !s.actionTypes || s.actionTypes.includes(type))
        .map((s) => ({ id: s.id, points: s.points, when: compileCondition(s.when, options), fired: `score:${s.id}` })),
    });
  }
  return {
    contract,
    actions,
    // Read on a proposal's own content (its parameters, its inputs), where every key is the agent's: none is taken for
    // one of Countersign's identifiers, whose values get only the identifier detectors (red team, 2026-12-05).
    masking: {
      nationalIds: (contract.masking?.nationalIds ?? []).map((n) => ({ name: n.name, pattern: new RegExp(n.pattern, 'g') })),
      keepKeys: NO_IDENTIFIER_KEYS,
    },
  };
}

/**
 * The proposal's inputs to a decision, masked (regulated data hidden), for a person reading the decision path (the
 * policy CLI's explain). Made where it is read, not in every decision: no service reads it (ADR 0029).
 */
export function maskedInputs(compiled: CompiledContract, p: ProposalInput): Record<string, unknown> {
  if (p === null || typeof p !== 'object' || tooDeepOrLarge(p)) return {};
  return maskDeep(
    { actionType: p.actionType, target: p.target, parameters: p.parameters, confidence: p.confidence, tenant: p.tenant, region: p.region, context: p.context },
    compiled.masking,
  );
}

/**
 * Decides a proposal's lane. Deterministic and total: it never throws on any value (unreadable never means
 * harmless: what cannot be read is prohibited), the same inputs give the same decision, and the lane is the
 * strictest any input demands; `decidedBy` names the highest-precedence one.
 */
export function evaluate(compiled: CompiledContract, p: ProposalInput, inputs: DecisionInputs): Decision {
  try {
    return decide(compiled, p, inputs);
  } catch {
    return failClosed(compiled, 'evaluation-failed', 'the proposal could not be evaluated: failing closed');
  }
}

/** Whether a condition holds; an unreadable input matches (fail closed). */
function holds(pred: Predicate, input: Parameters<Predicate>[0]): boolean {
  try {
    return pred(input);
  } catch {
    return true;
  }
}

/** A prohibited decision that reads nothing from the proposal (its inputs could not be read safely). */
function failClosed(compiled: CompiledContract, rule: string, reason: string): Decision {
  const c = compiled?.contract;
  return {
    contractVersion: String(c?.version ?? 'unknown'),
    contractHash: String(c?.hash ?? 'unknown'),
    sampledForAudit: false,
    lane: 'prohibited',
    decidedBy: 'prohibited-rule',
    rulesFired: [rule],
    reasons: [reason],
    score: 0,
    riskClass: 'high',
  };
}

/**
 * What the proposal schema (the one definition of a valid proposal, `libs/contracts`) finds wrong, as
 * pointers and messages. A proposal that fails it never reaches here through the bus; if one ever does,
 * it is prohibited, not scored as if its unreadable fields were harmless.
 */
function shapeIssues(p: unknown): string[] {
  const parsed = ProposalSchema.safeParse(p);
  return parsed.success ? [] : parsed.error.issues.slice(0, 5).map((i) => `/${i.path.join('/')} (${i.message})`);
}

function decide(compiled: CompiledContract, raw: ProposalInput, inputs: DecisionInputs): Decision {
  const c = compiled.contract;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return failClosed(compiled, 'invalid_proposal', 'the proposal is not an object: failing closed');
  // Nothing below walks a value this deep or this large (masking and the guardrail recurse).
  if (tooDeepOrLarge(raw)) return failClosed(compiled, 'invalid_proposal', 'the proposal nests too deep or holds too many values: failing closed');
  const p = raw;
  const actionType = typeof p.actionType === 'string' ? p.actionType : String(JSON.stringify(p.actionType));
  const input = {
    parameters: p.parameters ?? {},
    context: p.context ?? {},
    confidence: p.confidence,
    tenant: p.tenant,
    region: p.region,
    target: p.target,
    actionType: p.actionType,
    proposer: p.proposer,
    time: { hour: inputs.now.getUTCHours(), weekday: inputs.now.getUTCDay() },
  };
  const w = startDecision();

  const action = typeof p.actionType === 'string' ? compiled.actions.get(p.actionType) : undefined;
  if (!action) {
    return {
      contractVersion: c.version,
      contractHash: c.hash,
      sampledForAudit: false,
      lane: 'prohibited',
      decidedBy: 'prohibited-rule',
      rulesFired: ['unknown-action-type'],
      reasons: [`${maskText(actionType.slice(0, 200))} is not in the operational contract: unknown action types are prohibited`],
      score: 0,
      riskClass: 'high',
    };
  }

  // Contract: default lane, score thresholds, explicit rules, rate limits.
  let score = 0;
  for (const s of action.scoring)
    if (holds(s.when, input)) {
      score += s.points;
      w.fired[w.nFired++] = s.fired;
    }
  const t = action.spec.thresholds ?? {};
  // The contract's lane: the action type's own, raised by the first rule to demand a stricter one (`raise`).
  w.lane = action.spec.lane;
  w.reason = action.spec.reason;
  w.rule = action.laneRule;
  if (t.prohibited !== undefined && score >= t.prohibited)
    raise(w, 'prohibited', 'threshold:prohibited', `risk score ${score} reaches the prohibited threshold ${t.prohibited}`);
  else if (t.review !== undefined && score >= t.review) raise(w, 'review', 'threshold:review', `risk score ${score} reaches the review threshold ${t.review}`);
  for (const r of action.rules) if (holds(r.when, input)) raise(w, r.lane, r.id, r.reason, r.review);
  if (inputs.rateLimited)
    for (const id of inputs.rateLimited) {
      const limit = (c.rateLimits ?? []).find((l) => l.id === id && l.actionTypes.includes(p.actionType));
      if (limit) raise(w, limit.onExceed, `rate-limit:${id}`, `rate limit ${id} exceeded (${limit.limit} per ${limit.per} per ${limit.windowSeconds} s)`);
    }
  if (inputs.aggregateLimited)
    for (const id of inputs.aggregateLimited) {
      const limit = (c.aggregateLimits ?? []).find((l) => l.id === id && l.actionTypes.includes(p.actionType));
      if (limit) {
        const bound = [
          limit.maxCount !== undefined ? `${limit.maxCount} actions` : '',
          limit.maxAmount !== undefined ? `${limit.maxAmount} ${c.money?.reference ?? ''}` : '',
        ]
          .filter(Boolean)
          .join(' or ');
        // Counted under what it was counted under: a refund that names no customer is counted per target (rate-limit.ts).
        const per = limit.per === 'target' || namedSubject(limit.per, p.parameters) !== undefined ? limit.per : `target (the proposal names no ${limit.per})`;
        raise(w, limit.onExceed, `aggregate-limit:${id}`, `aggregate limit ${id} exceeded (${bound} per ${per} per ${limit.windowSeconds} s)`);
      }
    }
  // A limit that counts per customer cannot count a proposal that names none: counted under its target, and decided as
  // the limit's `whenMissing` says (docs/adr/0007, addendum 2026-12-03).
  for (const limit of c.aggregateLimits ?? [])
    if ((limit.whenMissing === 'review' || limit.whenMissing === 'prohibited') && limit.actionTypes.includes(p.actionType)) {
      if (namedSubject(limit.per, p.parameters) === undefined)
        raise(w, limit.whenMissing, `aggregate-limit:${limit.id}:unnamed`, `${limit.per} is missing: aggregate limit ${limit.id} cannot count this proposal`);
    }
  // A sudden change in the agent's behaviour (anomaly.ts): stricter only, never looser.
  if (c.anomalies)
    for (const rule of c.anomalies) {
      const found = anomalyOf(rule, p.actionType, inputs.agentStats?.[rule.id]);
      if (found) raise(w, rule.onDetect, `anomaly:${rule.id}`, `anomaly:${rule.id}: ${found}`);
    }
  // Money in a currency outside the rate table cannot be compared: at least review.
  for (const m of action.money) {
    const amount = readPath(input, m.amountPath);
    const currency = readPath(input, m.currencyPath);
    if (amount !== undefined && !(typeof currency === 'string' && c.money && Object.prototype.hasOwnProperty.call(c.money.rates, currency))) {
      raise(
        w,
        c.money?.unknownCurrency ?? 'review',
        'money:unknown-currency',
        `${m.amount} is in a currency outside the contract's rate table: it cannot be compared in ${c.money?.reference ?? 'the reference currency'}`,
      );
    }
  }
  // Regulated data in text that leaves the company; a payment card number in any action's parameters.
  const outbound = action.spec.outbound ? c.guardrails?.regulatedDataInOutboundText : undefined;
  const cards = c.guardrails?.cardDataInParameters;
  if (outbound || cards) {
    let kinds: readonly string[];
    try {
      kinds = regulatedKinds(p.parameters, compiled.masking);
    } catch {
      kinds = ['unreadable'];
    }
    if (outbound && kinds.length)
      raise(w, outbound, 'guardrail:regulated-data', `regulated data in outbound text (${kinds.join(', ')}): a person checks it before it leaves`);
    if (cards && kinds.some(isCard))
      raise(w, cards, 'guardrail:card-data', `a payment card number in the parameters (${kinds.filter(isCard).join(', ')}): a person checks it`);
    // The target and the context reach the target system and the reviewers too: a card number there is one as well
    // (red team, 2026-12-04: a refund whose target was a card number ran on its own). Not for outbound text: a
    // reply's target may well be an e-mail address.
    else if (cards && (mayHoldCardNumber(p.target) || hasOwnKeys(p.context))) {
      let elsewhere: string[];
      try {
        elsewhere = regulatedKinds({ target: p.target, context: p.context ?? {} }, compiled.masking).filter(isCard);
      } catch {
        elsewhere = ['unreadable'];
      }
      if (elsewhere.length)
        raise(w, cards, 'guardrail:card-data', `a payment card number in the target or the context (${elsewhere.join(', ')}): a person checks it`);
    }
  }
  const contractLane = w.lane;
  demand(w, { by: 'contract', lane: contractLane, rule: w.rule, reason: w.reason });
  const riskClass: RiskClass = riskOf(score, t.review, action.spec, contractLane);

  // Prohibited rules and guardrails that nothing overrides.
  // The whole proposal is within bounds (checked above): the parameters are not walked again.
  const issues = schemaIssues(action.validate, p.parameters);
  if (issues.length) {
    const named = issues
      .slice(0, 5)
      .map((i) => `${maskText(i.pointer)} ${i.message} (${i.rule})`)
      .join('; ');
    demand(w, { by: 'prohibited-rule', lane: 'prohibited', rule: 'invalid_parameters', reason: `invalid_parameters: ${named}` });
  }
  // The parameters' own schema names the field more precisely, so it speaks first when both object.
  // The fast check first: it allocates nothing for a proposal that is valid, which is nearly every one.
  const shape = certainlyValidProposal(p) ? undefined : shapeIssues(p);
  if (shape?.length)
    demand(w, { by: 'prohibited-rule', lane: 'prohibited', rule: 'invalid_proposal', reason: `invalid_proposal: ${maskText(shape.join(', '))}` });
  const asset = protectedAssetOf(p.target, p.parameters, !action.spec.outbound);
  if (asset)
    demand(w, {
      by: 'prohibited-rule',
      lane: 'prohibited',
      rule: 'self-protection',
      reason: `aimed at ${asset === 'Countersign itself' ? asset : `Countersign's own ${asset}`}: no contract can allow that`,
    });
  for (const rule of action.prohibited)
    if (holds(rule.when, input)) demand(w, { by: 'prohibited-rule', lane: 'prohibited', rule: rule.id, reason: rule.reason });
  if (action.spec.privileged && !scopedTokenValid(p.scopedToken, p.actionType, inputs.scopedTokenKey, inputs.now)) {
    demand(w, {
      by: 'prohibited-rule',
      lane: 'prohibited',
      rule: 'privileged:scoped-token',
      reason: `${p.actionType} is privileged: it needs a valid scoped token for this action type`,
    });
  }

  // Kill switch.
  if (inputs.killSwitch !== 'on') {
    demand(w, {
      by: 'kill-switch',
      lane: 'prohibited',
      rule: `kill-switch:${inputs.killSwitch === 'off' ? 'off' : 'unknown'}`,
      reason: inputs.killSwitch === 'off' ? `the kill switch of ${p.actionType} is off` : `the kill switch of ${p.actionType} cannot be read: failing closed`,
      // A switch that cannot be read is a doubt, not an answer: it passes when its flag is back (a flag file being
      // rewritten, a flag restored by the drift watcher), and the agent may propose again. `off` is an answer.
      ...(inputs.killSwitch !== 'off' && { retryLater: true }),
    });
  }

  // Degradation mode: a value it does not know reads as unknown (halted), never as the loosest (red team, 2026-12-04).
  const mode = KNOWN_MODES.has(inputs.degradationMode) ? inputs.degradationMode : 'unknown';
  if (mode === 'halted' || mode === 'unknown')
    demand(w, {
      by: 'degradation',
      lane: 'prohibited',
      rule: `degradation:${mode}`,
      reason: mode === 'halted' ? 'degradation mode halted: all execution stopped' : 'the degradation mode cannot be read: failing closed as halted',
      retryLater: true,
    });
  else if (mode === 'constrained' && (contractLane === 'review' || riskClass !== 'low'))
    demand(w, {
      by: 'degradation',
      lane: 'prohibited',
      rule: 'degradation:constrained',
      reason: 'degradation mode constrained: only low-risk autonomous actions are accepted; retry later',
      retryLater: true,
    });
  else if (mode === 'elevated' && contractLane === 'autonomous' && riskClass !== 'low')
    demand(w, {
      by: 'degradation',
      lane: 'review',
      rule: 'degradation:elevated',
      reason: 'degradation mode elevated: medium- and high-risk autonomous actions go to review',
    });

  // Trust stack.
  if (inputs.trustStackHealthy !== true && (riskClass !== 'low' || action.spec.privileged)) {
    demand(w, {
      by: 'trust-stack',
      lane: 'prohibited',
      rule: `trust-stack:${inputs.trustStackHealthy === 'unknown' ? 'unknown' : 'unhealthy'}`,
      reason: 'the trust stack (keys, certificates) is not healthy: risky actions fail closed',
      // It passes: the trust monitor reports a renewed key within one check interval, and the agent may then retry.
      retryLater: true,
    });
  }

  // Autonomy: likewise, a level it does not know reads as unknown (review).
  const a = KNOWN_LEVELS.has(inputs.autonomy) ? inputs.autonomy : 'unknown';
  if (a === 'off') demand(w, { by: 'autonomy', lane: 'prohibited', rule: 'autonomy:off', reason: `autonomy for ${p.actionType} is off` });
  else if (a === 'review-all' || a === 'unknown')
    demand(w, {
      by: 'autonomy',
      lane: 'review',
      rule: `autonomy:${a}`,
      reason: a === 'unknown' ? 'the autonomy level cannot be read: failing closed to review' : 'autonomy is review-all',
    });
  else if (a === 'review-risky' && riskClass !== 'low')
    demand(w, { by: 'autonomy', lane: 'review', rule: 'autonomy:review-risky', reason: `autonomy is review-risky and the risk is ${riskClass}` });

  let lane: Lane = 'autonomous';
  for (let k = 0; k < w.nDemands; k++) if (STRICT[w.demands[k].lane] > STRICT[lane]) lane = w.demands[k].lane;
  // The decider: by precedence among the demands of the lane, a lasting one before one that passes (`retryLater`). A
  // legal statement refused for good is not "propose it again later" because the mode is constrained too (red team,
  // 2026-12-05): an agent told to retry would propose a forbidden action again and again.
  let decider = w.demands[0];
  find: for (let round = 0; round < 2; round++)
    for (const by of PRECEDENCE)
      for (let k = 0; k < w.nDemands; k++) {
        const d = w.demands[k];
        // The first round looks for a lasting demand, the second for one that passes.
        if (d.by === by && d.lane === lane && Boolean(d.retryLater) === (round === 1)) {
          decider = d;
          break find;
        }
      }
  // The decider's rule and reason lead (an agent reads the first rule as why: `reasonCode` on the action's view), then
  // the other demands' in order, then the contract's own. The action type's own reason explains its default lane: only
  // when that lane holds. A refund sent to review by its amount does not also say "small, policy-conform refund", which
  // a reviewer reads as a reason to approve.
  const rulesFired = explained(w, decider, ruleOf, w.fired, w.nFired, undefined);
  const reasons = explained(w, decider, reasonOf, w.said, w.nSaid, STRICT[action.spec.lane] >= STRICT[lane] ? action.spec.reason : undefined);

  const reviewSettings =
    lane === 'review'
      ? (w.reviewFrom ??
        action.spec.review ?? { slaClass: Object.keys(c.slaClasses)[0], requiredRoles: ['reviewer'], quorum: 1, whenUnavailable: 'fail-closed' as const })
      : undefined;
  // One literal of one shape, optional fields added after: spreading into the literal took a quarter of a decision (ADR 0029).
  const decision: Decision = {
    lane,
    decidedBy: decider.by,
    contractVersion: c.version,
    contractHash: c.hash,
    rulesFired,
    reasons,
    score,
    riskClass,
    sampledForAudit: lane === 'autonomous' && sampled(c.sampling, inputs.actionId ?? p.target),
  };
  if (reviewSettings)
    decision.review = {
      // Named, not spread (the contract schema allows no other fields): a spread here cost as much as the rules.
      slaClass: reviewSettings.slaClass,
      requiredRoles: reviewSettings.requiredRoles,
      quorum: reviewSettings.quorum,
      whenUnavailable: reviewSettings.whenUnavailable,
      slaSeconds: c.slaClasses[reviewSettings.slaClass] ?? 14_400,
      escalation: escalationOf(c.escalation, reviewSettings.requiredRoles),
    };
  if (decider.retryLater) decision.retryLater = true;
  return decision;
}

type Demand = { by: DecidedBy; lane: Lane; rule: string; reason: string; retryLater?: boolean };

/**
 * One decision's working lists, kept from one decision to the next: `decide` runs to its end without yielding and
 * nothing it calls decides again, so one set serves every call; `startDecision` resets them by their counts, and the
 * decision's own lists are copied out at their size (`explained`). An array that grows by `push` from empty takes room
 * for 16 values: three of them, and the copies `unshift` and `splice` made, were a fifth of what a decision allocated
 * (ADR 0029, addendum 2026-12-07).
 */
interface Working {
  /** What each input demands: the contract's own lane, prohibited rules, the kill switch, the mode, the trust stack, autonomy. */
  demands: Demand[];
  nDemands: number;
  /** The contract's rules that fired and the reasons they gave, in order (scores, thresholds, rules, limits, guardrails). */
  fired: string[];
  nFired: number;
  said: string[];
  nSaid: number;
  /** The contract's lane so far, and the rule and reason that set it: the action type's own, or the first to raise it. */
  lane: Lane;
  rule: string;
  reason: string;
  /** Of several rules sending it to review, the one with the larger quorum sets the review. */
  reviewFrom: ReviewSettings | undefined;
  /** Where `explained` orders a list before copying it out. */
  out: string[];
}

const working: Working = {
  demands: [],
  nDemands: 0,
  fired: [],
  nFired: 0,
  said: [],
  nSaid: 0,
  lane: 'prohibited',
  rule: '',
  reason: '',
  reviewFrom: undefined,
  out: [],
};

function startDecision(): Working {
  working.nDemands = working.nFired = working.nSaid = 0;
  working.reviewFrom = undefined;
  return working;
}

function demand(w: Working, d: Demand): void {
  w.demands[w.nDemands++] = d;
}

/** A contract rule fired: its rule and reason are recorded, and it raises the contract's lane if it is stricter. */
function raise(w: Working, lane: Lane, rule: string, reason: string, review?: ReviewSettings): void {
  w.fired[w.nFired++] = rule;
  w.said[w.nSaid++] = reason;
  if (STRICT[lane] > STRICT[w.lane]) {
    w.lane = lane;
    w.reason = reason;
    w.rule = rule;
  }
  if (lane === 'review' && review && (!w.reviewFrom || review.quorum > w.reviewFrom.quorum)) w.reviewFrom = review;
}

const ruleOf = (d: Demand) => d.rule;
const reasonOf = (d: Demand) => d.reason;

/**
 * One list of the explanation (rules fired, or reasons), each value once, where it first stands: the decider's value,
 * the other demands' in order (the contract's own is not one of them), the contract's values (`own`, the first `n`)
 * in the order they fired, and `last` if given.
 */
function explained(w: Working, decider: Demand, valueOf: (d: Demand) => string, own: string[], n: number, last: string | undefined): string[] {
  const out = w.out;
  let m = 0;
  out[m++] = valueOf(decider);
  for (let k = 0; k < w.nDemands; k++) {
    const d = w.demands[k];
    if (d !== decider && d.by !== 'contract' && !within(out, m, valueOf(d))) out[m++] = valueOf(d);
  }
  for (let k = 0; k < n; k++) if (!within(out, m, own[k])) out[m++] = own[k];
  if (last !== undefined && !within(out, m, last)) out[m++] = last;
  return out.slice(0, m);
}

/** Whether `list`'s first `m` values include `v`. */
function within(list: string[], m: number, v: string): boolean {
  for (let k = 0; k < m; k++) if (list[k] === v) return true;
  return false;
}

/**
 * When a pending review escalates and which roles it gains: the contract's share of the SLA (half unless it says
 * otherwise) and the next tier of each required role (a role without one gains none; the escalation is still
 * announced). The review queue's clock acts on it; the original roles keep their say.
 */
export function escalationOf(escalation: LoadedContract['escalation'], requiredRoles: string[]): ReviewEscalation {
  if (!escalation?.nextTier) return { atShare: escalation?.atShare ?? DEFAULT_ESCALATION_SHARE, to: [] };
  const tiers = escalation.nextTier;
  const to = requiredRoles.flatMap((r) => (Object.hasOwn(tiers, r) && !requiredRoles.includes(tiers[r]) ? [tiers[r]] : []));
  return { atShare: escalation?.atShare ?? DEFAULT_ESCALATION_SHARE, to: [...new Set(to)] };
}

function riskOf(score: number, reviewThreshold: number | undefined, spec: LoadedContract['actions'][string], lane: Lane): RiskClass {
  if (lane !== 'autonomous') return 'high';
  if (reviewThreshold !== undefined) return score >= reviewThreshold ? 'high' : score >= reviewThreshold / 2 ? 'medium' : 'low';
  if (spec.customerImpact === 'high' || spec.regulatorySensitivity === 'high' || spec.reversibility === 'irreversible') return 'high';
  if (spec.customerImpact === 'medium' || spec.blastRadius !== 'single') return 'medium';
  return 'low';
}

function sampled(sampling: LoadedContract['sampling'], key: string): boolean {
  if (!sampling || sampling.autonomousShare <= 0) return false;
  const h = createHash('sha256').update(`${sampling.seed}:${key}`).digest().readUInt32BE(0);
  return h / 0x1_0000_0000 < sampling.autonomousShare;
}

/** A scoped token for a privileged action type: `cst1.<actionType>.<expiry epoch s>.<HMAC-SHA256>`. */
export function issueScopedToken(key: Buffer, actionType: string, expiresAt: Date): string {
  const body = `cst1.${actionType}.${Math.floor(expiresAt.getTime() / 1000)}`;
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

export function scopedTokenValid(token: unknown, actionType: string, key: Buffer | undefined, now: Date): boolean {
  if (typeof token !== 'string' || !token || !key) return false;
  const i = token.lastIndexOf('.');
  const body = token.slice(0, i);
  const [prefix, ...rest] = body.split('.');
  const expiry = Number(rest.pop());
  if (prefix !== 'cst1' || rest.join('.') !== actionType || !(expiry * 1000 > now.getTime())) return false;
  const expected = createHmac('sha256', key).update(body).digest();
  const given = Buffer.from(token.slice(i + 1), 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A kind of finding that is, or may be, a payment card number: what could not be read whole may hold one (fail closed). */
const isCard = (kind: string): boolean => kind === 'card' || kind === 'unreadable' || kind === 'too-deep';

/** Whether a value is an object with a key of its own (without listing them). */
function hasOwnKeys(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  for (const k in v) if (Object.prototype.hasOwnProperty.call(v, k)) return true;
  return false;
}

/**
 * Whether a target could hold a card number, cheaply: twelve ASCII digits or more, or any character past ASCII (digits of
 * other scripts, full-width ones: the detectors read those). Most targets (`order-1234`, `ticket-77`) are skipped.
 */
function mayHoldCardNumber(target: unknown): boolean {
  if (typeof target !== 'string') return true;
  let digits = 0;
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c > 127) return true;
    if (c >= 48 && c <= 57 && ++digits >= 12) return true;
  }
  return false;
}
