import { executionSuite } from './execution.suite';
import { InMemoryExecutionRepository } from './in-memory-execution.repository';

// real: the in-memory twin; fake: nothing.
executionSuite('in-memory', async () => new InMemoryExecutionRepository());
