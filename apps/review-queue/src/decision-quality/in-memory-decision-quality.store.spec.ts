import { decisionQualitySuite } from './decision-quality.suite';
import { InMemoryDecisionQualityStore } from './in-memory-decision-quality.store';

// real: the in-memory twin; fake: nothing.
decisionQualitySuite('in-memory', async () => new InMemoryDecisionQualityStore());
