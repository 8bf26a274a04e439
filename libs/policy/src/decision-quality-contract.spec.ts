import { readFileSync } from 'node:fs';
import { parseContract } from './contract';
import { PROJECT_CONTRACT, projectContract } from './spec-fixtures';

// real: the contract parser and validator (schema and cross-checks), the project's contract; fake: nothing.

/** The project contract with its `decisionQuality:` section replaced. */
const withQuality = (section: string) =>
  parseContract(readFileSync(PROJECT_CONTRACT, 'utf8').replace(/^decisionQuality:\n(?: {2}.*\n)+/m, `decisionQuality:\n${section}\n`), 'c.yaml');

const REFUND = `{ id: bad-refund, actionType: support.refund, target: order-1,
          parameters: { amount: 4800, currency: EUR, reason: "a refund to a new card", card: "5500 0000 0000 0004" },
          reasons: [refund above the limit], why: "ten times the order" }`;
const canaries = (rate: string, ...templates: string[]) => `  canaries:\n    rate: ${rate}\n    templates:\n${templates.map((t) => `      - ${t}`).join('\n')}`;

describe("the contract's decisionQuality section", () => {
  it('is in the project contract, and a valid section parses', () => {
    // Canaries ship off (rate 0) with their template ready for a lead to turn them on through change control.
    expect(projectContract.decisionQuality).toMatchObject({
      canaries: { rate: 0, templates: [expect.objectContaining({ id: 'refund-to-unrelated-card', actionType: 'support.refund' })] },
      secondReview: { rate: 0.05 },
      outliers: { minDecisions: 20 },
    });
    expect(withQuality(`${canaries('0.1', REFUND)}\n  secondReview: { rate: 1 }`).decisionQuality?.canaries?.templates[0].id).toBe('bad-refund');
  });

  it('refuses a canary rate outside 0..0.5 and a second-review rate above 1, naming the field', () => {
    expect(() => withQuality(canaries('0.6', REFUND))).toThrow(/c\.yaml:\d+: decisionQuality\.canaries\.rate: must be <= 0\.5/);
    expect(() => withQuality(canaries('-0.1', REFUND))).toThrow(/decisionQuality\.canaries\.rate: must be >= 0/);
    expect(() => withQuality(`${canaries('0.1', REFUND)}\n  secondReview: { rate: 1.5 }`)).toThrow(/decisionQuality\.secondReview\.rate: must be <= 1/);
  });

  it('refuses a template of an unknown action type, or of one that can never reach review', () => {
    expect(() => withQuality(canaries('0.1', REFUND.replace('support.refund', 'support.refnud')))).toThrow(
      /c\.yaml:\d+: decisionQuality\.canaries\.templates\.0\.actionType: unknown action type support\.refnud/,
    );
    expect(() => withQuality(canaries('0.1', REFUND.replace('support.refund', 'shell.exec')))).toThrow(
      /templates\.0\.actionType: shell\.exec has no review settings: a canary of it could never be queued/,
    );
  });

  it('refuses parameters its action type would refuse, and a template id used twice', () => {
    expect(() => withQuality(canaries('0.1', REFUND.replace('amount: 4800', 'amount: "a lot"')))).toThrow(
      /templates\.0\.parameters: not valid parameters of support\.refund: \/amount must be a number/,
    );
    expect(() => withQuality(canaries('0.1', REFUND, REFUND))).toThrow(/templates\.1\.id: duplicate canary template id bad-refund/);
  });
});
