import { executionContract } from './execution.contract';
import { InMemoryExecutionRepository } from './fake-execution.repository';

// real: the in-memory twin; fake: nothing.
executionContract('in-memory', async () => new InMemoryExecutionRepository());
