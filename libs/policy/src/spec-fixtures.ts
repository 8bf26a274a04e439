/**
 * Shared by the lib's own specs (not exported from the barrel): the project's contract, the most permissive
 * decision inputs (only the proposal itself can keep it out of the autonomous lane), and a proposal builder.
 */
import { join } from 'node:path';
import { loadContractFile } from './contract';
import { compileContract, DecisionInputs, ProposalInput } from './evaluate';

export const PROJECT_CONTRACT = join(__dirname, '../../../apps/policy-engine/contract/countersign.contract.yaml');
export const projectContract = loadContractFile(PROJECT_CONTRACT);
export const compiledProjectContract = compileContract(projectContract);

export const OPEN_INPUTS: DecisionInputs = {
  killSwitch: 'on',
  degradationMode: 'normal',
  trustStackHealthy: true,
  autonomy: 'autonomous',
  now: new Date('2026-11-24T10:00:00Z'),
};

/**
 * A proposal of `actionType` with these parameters, from the support copilot unless `over` says otherwise; its target one
 * of its type's shape (a reply's and a tag's a ticket, the contract's `reply-not-to-a-ticket` and `tag-not-on-a-ticket`), an order
 * otherwise.
 */
export const proposalOf = (actionType: string, parameters: unknown, over: Record<string, unknown> = {}): ProposalInput =>
  ({
    actionType,
    target: actionType === 'support.reply' || actionType === 'ticket.tag' ? 'ticket-1' : 'order-1',
    parameters,
    proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
    confidence: 0.95,
    tenant: 'acme',
    region: 'eu-west',
    context: {},
    ...over,
  }) as ProposalInput;
