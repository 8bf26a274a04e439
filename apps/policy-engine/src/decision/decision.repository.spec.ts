import { decisionSuite } from './decision.suite';
import { InMemoryDecisionRepository } from './decision.repository';

// real: the in-process store; fake: nothing.
decisionSuite('in-memory', async () => new InMemoryDecisionRepository());
