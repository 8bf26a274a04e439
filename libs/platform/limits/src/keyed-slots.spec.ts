import { KeyedSlots } from './keyed-slots';

// real: KeyedSlots; fake: nothing.
describe('KeyedSlots (at most max under way per key)', () => {
  it('gives max slots per key, one more when one is released, and a release only once', () => {
    const slots = new KeyedSlots(2);
    const [a1, a2] = [slots.take('a'), slots.take('a')];
    expect(a1 && a2).toBeInstanceOf(Function);
    expect(slots.take('a')).toBeUndefined();
    expect(slots.take('b')).toBeInstanceOf(Function); // another key has its own
    a1!();
    a1!(); // a second release gives nothing more back
    expect(slots.holding('a')).toBe(1);
    const a3 = slots.take('a');
    expect(a3).toBeInstanceOf(Function);
    expect(slots.take('a')).toBeUndefined();
    a2!();
    a3!();
    expect(slots.holding('a')).toBe(0);
  });

  it('refuses a bound that lets nothing through', () => {
    expect(() => new KeyedSlots(0)).toThrow(/max ≥ 1/);
  });
});
