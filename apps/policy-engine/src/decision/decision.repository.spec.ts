import { decisionContract } from './decision.contract';
import { InMemoryDecisionRepository } from './decision.repository';

// real: the in-process store; fake: nothing.
decisionContract('in-memory', async () => new InMemoryDecisionRepository());
