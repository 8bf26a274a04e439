import { growthOnEightfoldText } from './linear-time';

// The measure the detectors' tests rely on tells a linear reading from a quadratic one on the same machine.
describe('growthOnEightfoldText', () => {
  const spaced = (n: number) => '1 '.repeat(n);

  it('is well under 24 for a reading in linear time', () => {
    expect(growthOnEightfoldText(spaced, 200_000, (text) => text.replace(/\d/g, 'x'))).toBeLessThan(24);
  });

  it('is over 24 for a reading that backtracks quadratically', () => {
    // From each start, `\d(?: \d)*$` runs to the end and fails there (the text ends in a space): n starts × n steps.
    expect(growthOnEightfoldText(spaced, 16_000, (text) => /\d(?: \d)*$/.test(text))).toBeGreaterThan(24);
  });
});
