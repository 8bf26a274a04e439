import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import canonicalize from 'canonicalize';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { describeIssues, Lane, LaneSchema, Proposal } from '@countersign/contracts';

const Condition = z.union([
  z.object({ context: z.string().min(1) }).strict(),
  z.object({ confidenceBelow: z.number().min(0).max(1) }).strict(),
  z.object({ parameterAbove: z.record(z.string(), z.number()) }).strict(),
  z.object({ parameterIncludes: z.record(z.string(), z.array(z.string()).min(1)) }).strict(),
]);

const Review = z.object({ slaClass: z.string(), requiredRoles: z.array(z.string()).min(1), quorum: z.number().int().min(1).max(5) }).strict();

const Action = z
  .object({
    lane: LaneSchema,
    reason: z.string().min(1),
    escalate: z.array(z.object({ when: Condition, reason: z.string().min(1), lane: z.enum(['review', 'prohibited']).default('review') }).strict()).default([]),
    review: Review.optional(),
  })
  .strict();

const ContractSchema = z
  .object({
    version: z.union([z.string(), z.number()]).transform(String),
    slaClasses: z.record(z.string(), z.number().int().positive()),
    actions: z.record(z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/), Action),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const [type, a] of Object.entries(c.actions)) {
      const canReview = a.lane === 'review' || a.escalate.some((e) => e.lane === 'review');
      if (canReview && !a.review) ctx.addIssue({ code: 'custom', path: ['actions', type, 'review'], message: 'an action that can reach review needs review settings' });
      if (a.review && !(a.review.slaClass in c.slaClasses)) ctx.addIssue({ code: 'custom', path: ['actions', type, 'review', 'slaClass'], message: `unknown SLA class ${a.review.slaClass}` });
    }
  });

export type OperationalContract = z.infer<typeof ContractSchema> & { hash: string; file: string };

/** A contract that does not parse or validate: the message names the file and what is wrong. */
export class ContractError extends Error {}

/** Loads and validates the operational contract (YAML). An invalid contract never loads. */
export function loadContract(file: string): OperationalContract {
  const text = readFileSync(file, 'utf8');
  const doc = parseDocument(text);
  if (doc.errors.length) throw new ContractError(`${file}: ${doc.errors[0].message}`);
  const parsed = ContractSchema.safeParse(doc.toJS());
  if (!parsed.success) throw new ContractError(`${file}: ${describeIssues(parsed.error)}`);
  const hash = `sha256:${createHash('sha256').update(canonicalize(parsed.data)!).digest('hex')}`;
  return { ...parsed.data, hash, file };
}

export type AutonomyLevel = 'off' | 'review-all' | 'review-risky' | 'autonomous' | 'unknown';

export interface ContractDecision {
  lane: Lane;
  reasons: string[];
  rulesFired: string[];
  contractVersion: string;
  contractHash: string;
  review?: { slaClass: string; slaSeconds: number; requiredRoles: string[]; quorum: number };
}

const STRICTNESS: Record<Lane, number> = { autonomous: 0, review: 1, prohibited: 2 };

/**
 * The lane the contract gives a proposal, with its reasons. Deterministic: the same proposal, contract
 * and autonomy level give the same decision. Unknown action types are prohibited; an unknown autonomy
 * level fails closed to review.
 */
export function decide(contract: OperationalContract, p: Proposal, autonomy: AutonomyLevel): ContractDecision {
  const base = { contractVersion: contract.version, contractHash: contract.hash };
  const action = contract.actions[p.actionType];
  if (!action) return { ...base, lane: 'prohibited', reasons: [`${p.actionType} is not in the operational contract: unknown action types are prohibited`], rulesFired: ['unknown-action-type'] };
  let lane: Lane = action.lane;
  const reasons = [action.reason];
  const rulesFired = [`${p.actionType}.default`];
  action.escalate.forEach((rule, i) => {
    if (!matches(rule.when, p)) return;
    rulesFired.push(`${p.actionType}.escalate[${i}]`);
    reasons.push(rule.reason);
    if (STRICTNESS[rule.lane] > STRICTNESS[lane]) lane = rule.lane;
  });
  if (lane !== 'prohibited') {
    if (autonomy === 'off') {
      lane = 'prohibited';
      reasons.push('the autonomy flag for this action type is off');
      rulesFired.push('autonomy.off');
    } else if (lane === 'autonomous' && (autonomy === 'review-all' || autonomy === 'unknown')) {
      lane = 'review';
      reasons.push(autonomy === 'unknown' ? 'no autonomy flag could be read: failing closed to review' : 'autonomy is set to review-all');
      rulesFired.push(`autonomy.${autonomy}`);
    }
  }
  const review = lane === 'review' ? (action.review ?? { slaClass: 'normal', requiredRoles: ['reviewer'], quorum: 1 }) : undefined;
  return {
    ...base,
    lane,
    reasons,
    rulesFired,
    ...(review ? { review: { ...review, slaSeconds: contract.slaClasses[review.slaClass] ?? 14_400 } } : {}),
  };
}

function matches(when: z.infer<typeof Condition>, p: Proposal): boolean {
  if ('context' in when) return p.context[when.context] === true;
  if ('confidenceBelow' in when) return p.confidence < when.confidenceBelow;
  if ('parameterAbove' in when) return Object.entries(when.parameterAbove).some(([k, limit]) => typeof p.parameters[k] === 'number' && (p.parameters[k] as number) > limit);
  return Object.entries(when.parameterIncludes).some(([k, values]) => Array.isArray(p.parameters[k]) && (p.parameters[k] as unknown[]).some((v) => values.includes(String(v))));
}
