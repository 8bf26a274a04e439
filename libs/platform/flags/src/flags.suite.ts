import { FlagReader } from './index';

/** What a flag source holds for the shared suite: names → on/off, with an optional variant. */
export type FlagSpec = Record<string, { enabled: boolean; variant?: string }>;

/**
 * The flags contract: a reader over a real Unleash server and the embedded mode's file-bootstrapped
 * reader give the same answers. `make(spec)` prepares a source holding `spec` and returns a reader on it;
 * `names(n)` maps a logical name to the source's real one (a unique prefix on the shared server).
 */
export function flagsSuite(name: string, make: (spec: FlagSpec) => Promise<FlagReader>, names: (n: string) => string = (n) => n) {
  describe(`FlagReader shared suite: ${name}`, () => {
    let reader: FlagReader;
    beforeAll(async () => {
      reader = await make({
        'exec.support.refund': { enabled: true },
        'exec.legal.statement': { enabled: false },
        'autonomy.default': { enabled: true, variant: 'review-risky' },
      });
      expect(await reader.ready(15_000)).toBe(true);
    }, 30_000);
    afterAll(() => reader.close());

    it('reads an enabled flag as on and a disabled one as off', () => {
      expect(reader.state(names('exec.support.refund'))).toBe('on');
      expect(reader.state(names('exec.legal.statement'))).toBe('off');
    });

    it('reads a flag it has never seen as unknown (callers fail closed)', () => {
      expect(reader.state(names('exec.never.defined'))).toBe('unknown');
      expect(reader.variant(names('exec.never.defined'))).toBeUndefined();
    });

    it('gives the variant of an enabled flag', () => {
      expect(reader.variant(names('autonomy.default'), { tenant: 'acme' })).toBe('review-risky');
    });
  });
}
