import { actionViewSuite } from './action-view.suite';
import { InMemoryActionViewRepository } from './in-memory-action-view.repository';

// real: the in-memory twin; fake: nothing.
actionViewSuite('in-memory', async () => new InMemoryActionViewRepository());
