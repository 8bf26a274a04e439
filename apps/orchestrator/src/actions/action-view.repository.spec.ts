import { actionViewContract } from './action-view.contract';
import { InMemoryActionViewRepository } from './fake-action-view.repository';

// real: the in-memory twin; fake: nothing.
actionViewContract('in-memory', async () => new InMemoryActionViewRepository());
