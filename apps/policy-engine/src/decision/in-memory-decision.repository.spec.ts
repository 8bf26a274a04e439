import { decisionSuite } from './decision.suite';
import { InMemoryDecisionRepository } from './in-memory-decision.repository';

// real: the in-process store; fake: nothing.
decisionSuite('in-memory', async () => new InMemoryDecisionRepository());
