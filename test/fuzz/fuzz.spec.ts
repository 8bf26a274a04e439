import { fuzzApi } from './api.property';
import { fuzzEngine } from './engine.property';

// real: the policy engine on the project's contract; the embedded mode's five services, bus, stores and HTTP API;
// fake: nothing (the target is the embedded sink). `npm run fuzz` runs the same properties at ≥ 100,000 cases.
// A machine shared with other work may take several times as long as an idle one: a bound, not a bet.
jest.setTimeout(600_000);

describe('fuzz', () => {
  it('evaluate never throws, and nothing that fails validation is decided less strictly than review (3,000 cases)', () => {
    const { cases, invalid } = fuzzEngine(3_000);
    expect(cases).toBe(3_000);
    // The generator must reach the invalid side, or the property says little.
    expect(invalid).toBeGreaterThan(300);
  });

  it('the HTTP API never answers 5xx, accepts nothing invalid, audits every rejection and strands nothing (1,500 requests)', async () => {
    const result = await fuzzApi(1_500);
    expect(result.requests).toBe(1_500);
    expect(result.byStatus[500]).toBeUndefined();
    expect(result.accepted).toBeGreaterThan(50);
    expect(result.requests - result.accepted).toBeGreaterThan(300);
  });
});
