import type { DrillReport } from '../report';
import type { DrillOptions } from './common';
import { certFailure } from './cert-failure';
import { confidentNonsense } from './confident-nonsense';
import { flagServiceDown } from './flag-service-down';
import { queueOverflow } from './queue-overflow';
import { reviewerOutage } from './reviewer-outage';

/** The drills by name: each runs against a running system and returns its report. */
export const DRILLS: Record<string, (o: DrillOptions) => Promise<DrillReport>> = {
  'queue-overflow': queueOverflow,
  'flag-service-down': flagServiceDown,
  'reviewer-outage': reviewerOutage,
  'confident-nonsense': confidentNonsense,
  'cert-failure': certFailure,
};
export type DrillName = keyof typeof DRILLS;
