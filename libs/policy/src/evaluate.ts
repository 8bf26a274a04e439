import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { compileCondition, Predicate } from './conditions';
import { Lane, LoadedContract, ReviewSettings } from './contract';
import { maskDeep, MaskingOptions } from './masking';

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

/** Inputs beyond the contract. Anything `unknown` fails closed (see `PRECEDENCE`). */
export interface DecisionInputs {
  killSwitch: FlagInput;
  degradationMode: DegradationMode;
  trustStackHealthy: boolean | 'unknown';
  autonomy: AutonomyLevel;
  /** Ids of the contract's rate limits this proposal exceeds (from `checkRateLimits`). */
  rateLimited?: string[];
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

/** A decision with its explanation, ready to show a reviewer and to audit (inputs masked). */
export interface Decision {
  lane: Lane;
  decidedBy: DecidedBy;
  contractVersion: string;
  contractHash: string;
  rulesFired: string[];
  reasons: string[];
  score: number;
  riskClass: RiskClass;
  inputsUsed: Record<string, unknown>;
  review?: ReviewSettings & { slaSeconds: number };
  /** Constrained mode blocked it for now: the agent should retry later. */
  retryLater?: boolean;
  sampledForAudit: boolean;
}

const STRICT: Record<Lane, number> = { autonomous: 0, review: 1, prohibited: 2 };

interface CompiledAction {
  type: string;
  spec: LoadedContract['actions'][string];
  rules: Array<{ id: string; when: Predicate; lane: 'review' | 'prohibited'; reason: string; review?: ReviewSettings }>;
  prohibited: Array<{ id: string; when: Predicate; reason: string }>;
  scoring: Array<{ id: string; when: Predicate; points: number }>;
}

/** A contract compiled for evaluation: rules indexed by action type, conditions compiled to closures. */
export interface CompiledContract {
  contract: LoadedContract;
  actions: Map<string, CompiledAction>;
  globalProhibited: Array<{ id: string; when: Predicate; reason: string }>;
  masking: MaskingOptions;
}

const always: Predicate = () => true;

export function compileContract(contract: LoadedContract): CompiledContract {
  const actions = new Map<string, CompiledAction>();
  for (const [type, spec] of Object.entries(contract.actions)) {
    actions.set(type, {
      type,
      spec,
      rules: (contract.rules ?? []).filter((r) => r.actionTypes.includes(type)).map((r) => ({ ...r, when: compileCondition(r.when) })),
      prohibited: (contract.prohibited ?? []).filter((p) => p.actionTypes?.includes(type)).map((p) => ({ id: p.id, reason: p.reason, when: p.when ? compileCondition(p.when) : always })),
      scoring: (contract.scoring ?? []).filter((s) => !s.actionTypes || s.actionTypes.includes(type)).map((s) => ({ id: s.id, points: s.points, when: compileCondition(s.when) })),
    });
  }
  return {
    contract,
    actions,
    globalProhibited: (contract.prohibited ?? []).filter((p) => !p.actionTypes).map((p) => ({ id: p.id, reason: p.reason, when: p.when ? compileCondition(p.when) : always })),
    masking: { nationalIds: (contract.masking?.nationalIds ?? []).map((n) => ({ name: n.name, pattern: new RegExp(n.pattern, 'g') })) },
  };
}

/**
 * Decides a proposal's lane. Deterministic and total: it never throws, the same inputs give the same
 * decision, and the lane is the strictest any input demands; `decidedBy` names the highest-precedence one.
 */
export function evaluate(compiled: CompiledContract, p: ProposalInput, inputs: DecisionInputs): Decision {
  const c = compiled.contract;
  const input = { parameters: p.parameters ?? {}, context: p.context ?? {}, confidence: p.confidence, tenant: p.tenant, region: p.region, target: p.target, actionType: p.actionType, proposer: p.proposer, time: { hour: inputs.now.getUTCHours(), weekday: inputs.now.getUTCDay() } };
  const inputsUsed = maskDeep({ actionType: p.actionType, target: p.target, parameters: p.parameters, confidence: p.confidence, tenant: p.tenant, region: p.region, context: p.context }, compiled.masking);
  const base = { contractVersion: c.version, contractHash: c.hash, inputsUsed, sampledForAudit: false };
  const demands: Array<{ by: DecidedBy; lane: Lane; rule: string; reason: string; retryLater?: boolean }> = [];
  const rulesFired: string[] = [];
  const reasons: string[] = [];
  const safe = (pred: Predicate) => {
    try {
      return pred(input);
    } catch {
      return true; // an unreadable input matches: fail closed
    }
  };

  const action = compiled.actions.get(p.actionType);
  if (!action) {
    return { ...base, lane: 'prohibited', decidedBy: 'prohibited-rule', rulesFired: ['unknown-action-type'], reasons: [`${p.actionType} is not in the operational contract: unknown action types are prohibited`], score: 0, riskClass: 'high' };
  }

  // Contract: default lane, score thresholds, explicit rules, rate limits.
  let score = 0;
  for (const s of action.scoring) if (safe(s.when)) {
    score += s.points;
    rulesFired.push(`score:${s.id}`);
  }
  const t = action.spec.thresholds ?? {};
  let contractLane: Lane = action.spec.lane;
  let contractReason = action.spec.reason;
  let reviewFrom: ReviewSettings | undefined;
  const raise = (lane: Lane, rule: string, reason: string, review?: ReviewSettings) => {
    rulesFired.push(rule);
    reasons.push(reason);
    if (STRICT[lane] > STRICT[contractLane]) {
      contractLane = lane;
      contractReason = reason;
    }
    // Of several rules sending it to review, the one with the larger quorum sets the review.
    if (lane === 'review' && review && (!reviewFrom || review.quorum > reviewFrom.quorum)) reviewFrom = review;
  };
  if (t.prohibited !== undefined && score >= t.prohibited) raise('prohibited', 'threshold:prohibited', `risk score ${score} reaches the prohibited threshold ${t.prohibited}`);
  else if (t.review !== undefined && score >= t.review) raise('review', 'threshold:review', `risk score ${score} reaches the review threshold ${t.review}`);
  for (const r of action.rules) if (safe(r.when)) raise(r.lane, r.id, r.reason, r.review);
  for (const id of inputs.rateLimited ?? []) {
    const limit = (c.rateLimits ?? []).find((l) => l.id === id && l.actionTypes.includes(p.actionType));
    if (limit) raise(limit.onExceed, `rate-limit:${id}`, `rate limit ${id} exceeded (${limit.limit} per ${limit.per} per ${limit.windowSeconds} s)`);
  }
  demands.push({ by: 'contract', lane: contractLane, rule: `${p.actionType}.lane`, reason: contractReason });
  const riskClass: RiskClass = riskOf(score, t.review, action.spec, contractLane);

  // Prohibited rules and guardrails that nothing overrides.
  for (const rule of [...compiled.globalProhibited, ...action.prohibited]) if (safe(rule.when)) demands.push({ by: 'prohibited-rule', lane: 'prohibited', rule: rule.id, reason: rule.reason });
  if (action.spec.privileged && !scopedTokenValid(p.scopedToken, p.actionType, inputs.scopedTokenKey, inputs.now)) {
    demands.push({ by: 'prohibited-rule', lane: 'prohibited', rule: 'privileged:scoped-token', reason: `${p.actionType} is privileged: it needs a valid scoped token for this action type` });
  }

  // Kill switch.
  if (inputs.killSwitch !== 'on') {
    demands.push({ by: 'kill-switch', lane: 'prohibited', rule: `kill-switch:${inputs.killSwitch}`, reason: inputs.killSwitch === 'off' ? `the kill switch of ${p.actionType} is off` : `the kill switch of ${p.actionType} cannot be read: failing closed` });
  }

  // Degradation mode.
  const mode = inputs.degradationMode;
  if (mode === 'halted' || mode === 'unknown') demands.push({ by: 'degradation', lane: 'prohibited', rule: `degradation:${mode}`, reason: mode === 'halted' ? 'degradation mode halted: all execution stopped' : 'the degradation mode cannot be read: failing closed as halted', retryLater: true });
  else if (mode === 'constrained' && (contractLane === 'review' || riskClass !== 'low')) demands.push({ by: 'degradation', lane: 'prohibited', rule: 'degradation:constrained', reason: 'degradation mode constrained: only low-risk autonomous actions are accepted; retry later', retryLater: true });
  else if (mode === 'elevated' && contractLane === 'autonomous' && riskClass !== 'low') demands.push({ by: 'degradation', lane: 'review', rule: 'degradation:elevated', reason: 'degradation mode elevated: medium- and high-risk autonomous actions go to review' });

  // Trust stack.
  if (inputs.trustStackHealthy !== true && (riskClass !== 'low' || action.spec.privileged)) {
    demands.push({ by: 'trust-stack', lane: 'prohibited', rule: `trust-stack:${inputs.trustStackHealthy === 'unknown' ? 'unknown' : 'unhealthy'}`, reason: 'the trust stack (keys, certificates) is not healthy: risky actions fail closed' });
  }

  // Autonomy.
  const a = inputs.autonomy;
  if (a === 'off') demands.push({ by: 'autonomy', lane: 'prohibited', rule: 'autonomy:off', reason: `autonomy for ${p.actionType} is off` });
  else if (a === 'review-all' || a === 'unknown') demands.push({ by: 'autonomy', lane: 'review', rule: `autonomy:${a}`, reason: a === 'unknown' ? 'the autonomy level cannot be read: failing closed to review' : 'autonomy is review-all' });
  else if (a === 'review-risky' && riskClass !== 'low') demands.push({ by: 'autonomy', lane: 'review', rule: 'autonomy:review-risky', reason: `autonomy is review-risky and the risk is ${riskClass}` });

  const lane = demands.reduce<Lane>((l, d) => (STRICT[d.lane] > STRICT[l] ? d.lane : l), 'autonomous');
  const decider = PRECEDENCE.map((by) => demands.find((d) => d.by === by && d.lane === lane)).find(Boolean)!;
  const ordered = [decider, ...demands.filter((d) => d !== decider && d.by !== 'contract')];
  for (const d of ordered.reverse()) {
    if (!rulesFired.includes(d.rule)) rulesFired.unshift(d.rule);
    if (!reasons.includes(d.reason)) reasons.unshift(d.reason);
  }
  if (!reasons.includes(action.spec.reason)) reasons.push(action.spec.reason);

  const reviewSettings = lane === 'review' ? (reviewFrom ?? action.spec.review ?? { slaClass: Object.keys(c.slaClasses)[0], requiredRoles: ['reviewer'], quorum: 1, whenUnavailable: 'fail-closed' as const }) : undefined;
  return {
    ...base,
    lane,
    decidedBy: decider.by,
    rulesFired,
    reasons,
    score,
    riskClass,
    ...(reviewSettings ? { review: { ...reviewSettings, slaSeconds: c.slaClasses[reviewSettings.slaClass] ?? 14_400 } } : {}),
    ...(decider.retryLater ? { retryLater: true } : {}),
    sampledForAudit: lane === 'autonomous' && sampled(c.sampling, inputs.actionId ?? p.target),
  };
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

export function scopedTokenValid(token: string | undefined, actionType: string, key: Buffer | undefined, now: Date): boolean {
  if (!token || !key) return false;
  const i = token.lastIndexOf('.');
  const body = token.slice(0, i);
  const [prefix, ...rest] = body.split('.');
  const expiry = Number(rest.pop());
  if (prefix !== 'cst1' || rest.join('.') !== actionType || !(expiry * 1000 > now.getTime())) return false;
  const expected = createHmac('sha256', key).update(body).digest();
  const given = Buffer.from(token.slice(i + 1), 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
