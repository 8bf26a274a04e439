// real: the governance page's outlier label; fake: nothing.
import { outlierLabel } from './governance-page.controller';

describe('an outlier as leads read it (red team, 2026-12-07)', () => {
  it('says which way from the peers, with both values', () => {
    expect(outlierLabel({ reviewer: 'bob', metric: 'approval rate', value: 0.4, peersMedian: 0.9, z: -2.04 })).toBe(
      "bob · approval rate lower than peers: 40 % (peers' median 90 %)",
    );
    expect(outlierLabel({ reviewer: 'fiona', metric: 'dwell time', value: 2100, peersMedian: 40, z: 1400.2 })).toBe(
      "fiona · dwell time higher than peers: 2.1 s (peers' median 0.0 s)",
    );
  });
});
