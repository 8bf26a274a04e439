// real: stricterOf, FlagControls and the controlled reader; fake: the underlying FlagReader (a map).
import { FlagControls, FlagReader, FlagState, isLooser, stricterOf, withFlagControls } from './index';

function mapReader(flags: Record<string, { state: FlagState; variant?: string }>): FlagReader {
  return {
    state: (n) => flags[n]?.state ?? 'unknown',
    variant: (n) => (flags[n]?.state === 'on' ? flags[n].variant : undefined),
    ready: async () => true,
    loaded: () => true,
    notLoadedReason: () => undefined,
    close: async () => undefined,
  };
}

describe('stricterOf', () => {
  it.each([
    ['autonomy', 'autonomous', 'review-all', 'review-all'],
    ['autonomy', 'review-risky', 'review-all', 'review-all'],
    ['autonomy', 'off', 'review-all', 'off'],
    ['autonomy', 'review-risky', 'unknown', 'unknown'],
    ['autonomy', 'off', 'unknown', 'off'],
    ['autonomy', 'autonomous', 'no-such-level', 'no-such-level'],
    ['kill-switch', 'on', 'off', 'off'],
    ['kill-switch', 'on', 'unknown', 'unknown'],
    ['kill-switch', 'unknown', 'off', 'off'],
  ] as const)('%s: the stricter of %s and %s is %s, whichever comes first', (kind, a, b, stricter) => {
    expect(stricterOf(kind, a, b)).toBe(stricter);
    expect(stricterOf(kind, b, a)).toBe(stricter);
  });

  it('a raise is a move to a looser value; the same value or a lowering is not', () => {
    expect(isLooser('autonomy', 'review-all', 'autonomous')).toBe(true);
    expect(isLooser('autonomy', 'autonomous', 'review-all')).toBe(false);
    expect(isLooser('autonomy', 'review-all', 'review-all')).toBe(false);
    expect(isLooser('kill-switch', 'off', 'on')).toBe(true);
    expect(isLooser('kill-switch', 'on', 'off')).toBe(false);
  });
});

describe('withFlagControls', () => {
  const reader = mapReader({
    'exec.refund': { state: 'on' },
    'auto.refund': { state: 'on', variant: 'autonomous' },
    'auto.email': { state: 'on', variant: 'review-all' },
  });

  /** Controls whose topic was read to its end (the follower marks it so). */
  const replayed = () => {
    const controls = new FlagControls();
    controls.markCaughtUp();
    return controls;
  };

  it('until the control topic is read to its end, no flag reads as known, and the flags are not loaded (fail closed)', () => {
    const controls = new FlagControls();
    const flags = withFlagControls(reader, controls);
    expect([flags.state('exec.refund'), flags.variant('auto.refund'), flags.loaded()]).toEqual(['unknown', undefined, false]);
    expect(flags.notLoadedReason()).toMatch(/control topic .* not read to its end/);
    controls.markCaughtUp();
    expect([flags.state('exec.refund'), flags.variant('auto.refund'), flags.loaded()]).toEqual(['on', 'autonomous', true]);
  });

  it('serves the control entry when it is stricter than Unleash, and Unleash when Unleash is', () => {
    const controls = replayed();
    const flags = withFlagControls(reader, controls);
    expect(flags.state('exec.refund')).toBe('on');
    controls.apply({ flag: 'exec.refund', kind: 'kill-switch', value: 'off' });
    controls.apply({ flag: 'auto.refund', kind: 'autonomy', value: 'review-risky' });
    controls.apply({ flag: 'auto.email', kind: 'autonomy', value: 'autonomous' });
    expect(flags.state('exec.refund')).toBe('off');
    expect([flags.state('auto.refund'), flags.variant('auto.refund')]).toEqual(['on', 'review-risky']);
    expect(flags.variant('auto.email')).toBe('review-all'); // the control entry is looser: Unleash's stricter value stands
    controls.apply({ flag: 'auto.refund', kind: 'autonomy', value: 'off' });
    expect([flags.state('auto.refund'), flags.variant('auto.refund')]).toEqual(['off', undefined]);
  });

  it('over a flag Unleash does not know, an entry restricts but never loosens (a flag never seen fails closed)', () => {
    const controls = replayed();
    const flags = withFlagControls(reader, controls);
    controls.apply({ flag: 'exec.unseen', kind: 'kill-switch', value: 'on' });
    controls.apply({ flag: 'exec.gone', kind: 'kill-switch', value: 'off' });
    controls.apply({ flag: 'auto.unseen', kind: 'autonomy', value: 'review-all' });
    expect(flags.state('exec.unseen')).toBe('unknown');
    expect(flags.state('exec.gone')).toBe('off');
    expect(flags.variant('auto.unseen')).toBe('review-all');
  });

  it('waitFor resolves once the entry holds the value, and false at the timeout', async () => {
    const controls = new FlagControls();
    const waiting = controls.waitFor('f', 'off', 5_000);
    controls.apply({ flag: 'f', kind: 'kill-switch', value: 'off' });
    expect(await waiting).toBe(true);
    expect(await controls.waitFor('f', 'on', 20)).toBe(false);
  });
});

describe('FlagControls.applyEvent: what Countersign found never undoes what was approved', () => {
  const event = (id: string, value: 'autonomous' | 'review-all' | 'off', change: 'lowered' | 'raised' | 'accepted', previous?: string) => ({
    id,
    data: { flag: 'a.support.refund', control: 'autonomy' as const, value, change, ...(previous && { previous }) },
  });

  it('an adoption published after an approved lowering it did not know of leaves the lowering in force', () => {
    const controls = new FlagControls();
    controls.applyEvent(event('lower', 'review-all', 'lowered'));
    controls.applyEvent(event('adopted', 'autonomous', 'accepted'));
    expect(controls.get('a.support.refund')).toMatchObject({ value: 'review-all', version: 'lower' });
  });

  it('an adoption sets a flag with no entry, and a stricter one replaces a looser entry; approved changes always apply', () => {
    const controls = new FlagControls();
    controls.applyEvent(event('adopted', 'autonomous', 'accepted'));
    expect(controls.get('a.support.refund')).toMatchObject({ value: 'autonomous', version: 'adopted' });
    controls.applyEvent(event('stricter', 'off', 'accepted'));
    expect(controls.get('a.support.refund')).toMatchObject({ value: 'off', version: 'stricter' });
    controls.applyEvent(event('raise', 'review-all', 'raised', 'off'));
    expect(controls.get('a.support.refund')).toMatchObject({ value: 'review-all', version: 'raise' });
    // A drift accepted against an approved state names it (`previous`): applied as it comes.
    controls.applyEvent(event('drift', 'autonomous', 'accepted', 'review-all'));
    expect(controls.get('a.support.refund')).toMatchObject({ value: 'autonomous', version: 'drift' });
  });
});
