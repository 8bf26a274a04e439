import { changeRequestStoreContract } from './change-request.store.contract';
import { InMemoryChangeRequestStore } from './in-memory-change-request.store';

// real: the in-process store; fake: nothing.
changeRequestStoreContract('in-memory', async (baseClaimMs) => new InMemoryChangeRequestStore(baseClaimMs));
