import { join } from 'node:path';
import fc from 'fast-check';
import { ProposalSchema } from '@countersign/contracts';
import { checkParameters, compileContract, DecisionInputs, evaluate, loadContractFile, ProposalInput } from '@countersign/policy';
import { mutatedProposal } from './proposals.arbitrary';

const compiled = compileContract(loadContractFile(join(__dirname, '../../apps/policy-engine/contract/countersign.contract.yaml')));

// The most permissive inputs: only the proposal itself can keep it out of the autonomous lane.
const inputs: DecisionInputs = {
  killSwitch: 'on',
  degradationMode: 'normal',
  trustStackHealthy: true,
  autonomy: 'autonomous',
  now: new Date('2026-11-24T10:00:00Z'),
};

export interface EngineFuzzResult {
  cases: number;
  invalid: number;
}

/**
 * The engine on arbitrary input: `evaluate` never throws; a proposal that fails the proposal schema is
 * never autonomous, and one whose parameters fail their action type's schema is prohibited.
 */
export function fuzzEngine(runs: number, seed?: number, onProgress?: (done: number) => void): EngineFuzzResult {
  let cases = 0;
  let invalid = 0;
  fc.assert(
    fc.property(fc.oneof({ weight: 9, arbitrary: mutatedProposal() }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) }), (candidate) => {
      cases++;
      onProgress?.(cases);
      const parsed = ProposalSchema.safeParse(candidate);
      const issues = parsed.success ? checkParameters(compiled, parsed.data) : [];
      const decision = evaluate(compiled, candidate as unknown as ProposalInput, inputs);
      if (!parsed.success || issues.length) invalid++;
      if (!parsed.success && decision.lane === 'autonomous')
        throw new Error(`a proposal that fails its schema was decided autonomous: ${JSON.stringify(candidate).slice(0, 300)}`);
      if (issues.length && decision.lane !== 'prohibited') {
        throw new Error(`invalid parameters (${issues.map((i) => `${i.pointer} ${i.rule}`).join('; ')}) were decided ${decision.lane}`);
      }
    }),
    { numRuns: runs, seed },
  );
  return { cases, invalid };
}
