import fc from 'fast-check';
import { findRegulatedData } from '@countersign/guardrails';
import { AMOUNT_SPREAD, variedCanary } from './canary-variation';

const TEMPLATE = {
  target: 'order-90431',
  parameters: { amount: 4800, currency: 'EUR', reason: 'customer asked for a refund to a new card', card: '5500 0000 0000 0004', fee: 12.5 },
};

/** A seeded random source (mulberry32): the property runs are reproducible. */
const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

describe('canary variation', () => {
  it('no two canaries show the same target, amount or card ending; each stays as bad as its template', () => {
    const random = seeded(7);
    const canaries = Array.from({ length: 50 }, () => variedCanary(TEMPLATE, { target: 'order-55120', confidence: 0.901 }, random));
    const distinct = (f: (c: (typeof canaries)[number]) => unknown) => new Set(canaries.map(f)).size;
    expect(distinct((c) => c.target)).toBeGreaterThan(45);
    expect(distinct((c) => c.parameters.amount)).toBeGreaterThan(30);
    expect(distinct((c) => String(c.parameters.card).slice(-4))).toBeGreaterThan(30);
    for (const c of canaries) {
      expect(c.target).toMatch(/^order-[1-9]\d{4}$/);
      expect(c.parameters.amount).toBeGreaterThanOrEqual(4800 * (1 - AMOUNT_SPREAD));
      expect(c.parameters.amount).toBeLessThanOrEqual(4800 * (1 + AMOUNT_SPREAD));
      expect(Number.isInteger(c.parameters.amount)).toBe(true);
      expect(String(c.parameters.fee)).toMatch(/^\d+(\.\d)?$/);
      expect(c.parameters).toMatchObject({ currency: 'EUR', reason: TEMPLATE.parameters.reason });
      // Still a card number the detectors find (and mask on the card), with the template's grouping and issuer.
      expect(c.parameters.card).toMatch(/^5500 00\d\d \d{4} \d{4}$/);
      expect(findRegulatedData({ card: c.parameters.card })).toEqual([{ kind: 'card', path: '/card' }]);
    }
  });

  it("repeats neither the real item's confidence nor its context: matching the two told canaries apart (red team, 2026-12-04)", () => {
    const random = seeded(11);
    const canaries = Array.from({ length: 50 }, () => variedCanary(TEMPLATE, { target: 'order-7101', confidence: 0.901 }, random));
    expect(canaries.filter((c) => c.confidence === 0.901).length).toBeLessThan(3);
    expect(new Set(canaries.map((c) => c.confidence)).size).toBeGreaterThan(30);
    for (const c of canaries) {
      expect(c.confidence).toBeGreaterThanOrEqual(0.801);
      expect(c.confidence).toBeLessThanOrEqual(0.99);
      expect(String(c.confidence).split('.')[1]?.length ?? 0).toBeLessThanOrEqual(3);
      expect(c.context).toEqual({});
    }
  });

  it('takes the shape of the real target beside it, and keeps the template target when the real one has no digits', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Z]{2,4}-\d{3,8}(\/\d{1,3})?$/), fc.integer(), (real, seed) => {
        const { target } = variedCanary(TEMPLATE, { target: real, confidence: 0.9 }, seeded(seed));
        expect(target.replace(/\d/g, '9')).toBe(real.replace(/\d/g, '9'));
        expect(target[real.search(/\d/)]).not.toBe('0');
      }),
    );
    expect(variedCanary(TEMPLATE, { target: 'ticket-abc', confidence: 0.9 }, seeded(1)).target).toMatch(/^order-\d{5}$/);
  });

  it('leaves the template as it was', () => {
    const before = structuredClone(TEMPLATE);
    variedCanary(TEMPLATE, { target: 'order-1', confidence: 0.9 }, seeded(3));
    expect(TEMPLATE).toEqual(before);
  });
});
