import { changeRequestStoreSuite } from './change-request.store.suite';
import { InMemoryChangeRequestStore } from './in-memory-change-request.store';

// real: the in-process store; fake: nothing.
changeRequestStoreSuite('in-memory', async (baseClaimMs) => new InMemoryChangeRequestStore(baseClaimMs));
