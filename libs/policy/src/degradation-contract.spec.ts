import { readFileSync } from 'node:fs';
import { parseContract } from './contract';
import { PROJECT_CONTRACT, projectContract } from './spec-fixtures';

// real: the contract parser and validator, the project's contract; fake: nothing.

/** The project contract with its `degradation:` section replaced. */
const withDegradation = (section: string) =>
  parseContract(readFileSync(PROJECT_CONTRACT, 'utf8').replace(/^degradation:\n(?: {2}.*\n)+/m, `degradation:\n${section}\n`), 'c.yaml');

const levels = (
  elevated: string,
  constrained = '{ enter: { pending: 50 }, exit: { pending: 20 } }',
  halted = '{ enter: { pending: 500 }, exit: { pending: 200 } }',
) => `  minDwellSeconds: 60\n  elevated: ${elevated}\n  constrained: ${constrained}\n  halted: ${halted}`;

describe("the contract's degradation section", () => {
  it('is in the project contract, with hysteresis on every signal', () => {
    expect(projectContract.degradation).toMatchObject({ minDwellSeconds: 300, slo: { target: 0.95, onBudgetExhausted: 'elevated' } });
    expect(() => withDegradation(levels('{ enter: { pending: 10, burnRate: 6 }, exit: { pending: 5, burnRate: 2 } }'))).not.toThrow();
  });

  it('refuses an exit threshold above its enter threshold, or one without the other', () => {
    expect(() => withDegradation(levels('{ enter: { pending: 10 }, exit: { pending: 11 } }'))).toThrow(
      /degradation.elevated.exit.pending: the exit threshold \(11\) must not be above the enter threshold \(10\)/,
    );
    expect(() => withDegradation(levels('{ enter: { pending: 10, burnRate: 2 }, exit: { pending: 5 } }'))).toThrow(
      /an enter threshold needs an exit threshold of burnRate \(hysteresis\)/,
    );
    expect(() => withDegradation(levels('{ enter: { pending: 10 }, exit: { pending: 5, burnRate: 1 } }'))).toThrow(
      /an exit threshold needs the enter threshold of burnRate/,
    );
  });

  it('refuses a level that enters below the one beneath it, an unknown SLA class, and an unknown signal', () => {
    expect(() => withDegradation(levels('{ enter: { pending: 100 }, exit: { pending: 5 } }'))).toThrow(
      /constrained must not enter below elevated \(50 < 100\)/,
    );
    expect(() =>
      withDegradation(
        `  slo: { target: 0.95, windowSeconds: 60, burnWindowSeconds: 10, onBudgetExhausted: elevated, classTargets: { urgent: 0.9 } }\n${levels('{ enter: { pending: 10 }, exit: { pending: 5 } }')}`,
      ),
    ).toThrow(/unknown SLA class urgent/);
    expect(() => withDegradation(levels('{ enter: { queueLength: 10 }, exit: { queueLength: 5 } }'))).toThrow(/unknown field/);
  });
});
