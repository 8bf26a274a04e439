import { randomUUID } from 'node:crypto';
import type { Proposal } from '@countersign/contracts';

/** Each drill run marks its proposals' targets, so two runs (and the system's other traffic) never share an aggregate. */
const run = randomUUID().slice(0, 8);
let n = 0;
const next = (prefix: string) => `${prefix}-drill-${run}-${++n}`;

const base = (actionType: string, target: string, parameters: Record<string, unknown>, confidence: number, agentId = 'support-copilot'): Proposal => ({
  actionType,
  target,
  parameters,
  proposer: { agentId, model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'drill-v1' },
  confidence,
  tenant: 'acme',
  region: 'eu-west',
  context: {},
});

/** Low risk, autonomous under the shipped contract in every mode but halted: an internal, reversible ticket tag. */
export const lowRisk = (confidence = 0.95) => base('ticket.tag', next('ticket'), { tags: ['drill'] }, confidence);

/**
 * Medium risk, autonomous in `normal`: merging a pull request (no score thresholds; its blast radius is a tenant), sent to
 * review from `elevated` on.
 */
export const mediumRisk = (confidence = 0.95) => base('code.merge', `repo:drill#${next('feature')}`, { pullRequest: ++n }, confidence);

/** Always the review lane: closing an account (class `normal`, role `reviewer`); `agentId` must be one the proposing token may act as. */
export const reviewLane = (confidence = 0.9, agentId = 'support-copilot') =>
  base('account.close', next('account'), { reason: 'drill: customer asked to close the account' }, confidence, agentId);

/** A proposal of any action type with the parameters given (for a flag never seen, or the target's own types). */
export const ofType = (actionType: string, parameters: Record<string, unknown>, confidence = 0.95) => base(actionType, next('target'), parameters, confidence);
