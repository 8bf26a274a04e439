import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProposalSchema } from '@countersign/contracts';
import { DEFAULT_CONTRACT_PATH } from '../policy-engine.module';
import { ContractError, decide, loadContract } from './operational-contract';

// The project's own contract against the shipped scenarios (libs/contracts/fixtures/scenarios.jsonl):
// each proposal with the lane a careful platform team expects. Where this contract decides otherwise,
// the reason is written here.
const DISAGREEMENTS: Record<string, { lane: string; why: string }> = {
  'code.merge:repo:docs#draft-notes': { lane: 'review', why: 'the contract has no branch-protection input yet, so every merge is reviewed: stricter, never looser' },
};

const scenarios = readFileSync(join(__dirname, '../../../../libs/contracts/fixtures/scenarios.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { proposal: unknown; expectedLane: string; why: string });

describe('the project operational contract', () => {
  const contract = loadContract(DEFAULT_CONTRACT_PATH);

  it.each(scenarios.map((s, i) => ({ ...s, i, p: ProposalSchema.parse(s.proposal) })))('scenario $i: $p.actionType on $p.target → $expectedLane ($why)', ({ p, expectedLane }) => {
    const key = `${p.actionType}:${p.target}`;
    const decision = decide(contract, p, 'autonomous');
    expect(decision.lane).toBe(DISAGREEMENTS[key]?.lane ?? expectedLane);
    expect(decision.reasons.length).toBeGreaterThan(0);
    expect(decision.contractVersion).toBe(contract.version);
  });

  it('prohibits unknown action types', () => {
    const p = ProposalSchema.parse({ ...(scenarios[0].proposal as object), actionType: 'crypto.transfer' });
    expect(decide(contract, p, 'autonomous')).toMatchObject({ lane: 'prohibited', rulesFired: ['unknown-action-type'] });
  });

  it('fails closed when the autonomy flag cannot be read, and stops everything when it is off', () => {
    const reply = ProposalSchema.parse(scenarios[0].proposal);
    expect(decide(contract, reply, 'unknown').lane).toBe('review');
    expect(decide(contract, reply, 'review-all').lane).toBe('review');
    expect(decide(contract, reply, 'off').lane).toBe('prohibited');
    const legal = ProposalSchema.parse(scenarios.find((s) => (s.proposal as { actionType: string }).actionType === 'legal.statement')!.proposal);
    expect(decide(contract, legal, 'autonomous').lane).toBe('prohibited');
  });

  it('gives review decisions their SLA, roles and quorum', () => {
    const refund = ProposalSchema.parse(scenarios[3].proposal);
    expect(decide(contract, refund, 'autonomous')).toMatchObject({ lane: 'review', review: { slaClass: 'high', slaSeconds: 900, requiredRoles: ['finance', 'reviewer'], quorum: 1 } });
  });

  it('refuses an invalid contract, naming the file and the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'contract-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nslaClasses: { normal: 60 }\nactions:\n  support.refund:\n    lane: sometimes\n    reason: x\n');
    expect(() => loadContract(bad)).toThrow(ContractError);
    expect(() => loadContract(bad)).toThrow(/bad\.yaml: actions\.support\.refund\.lane/);
    const noReview = join(dir, 'no-review.yaml');
    writeFileSync(noReview, 'version: 1\nslaClasses: { normal: 60 }\nactions:\n  code.merge:\n    lane: review\n    reason: x\n');
    expect(() => loadContract(noReview)).toThrow(/needs review settings/);
  });
});
