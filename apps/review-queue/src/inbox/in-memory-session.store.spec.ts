import { createInMemorySessionStore } from './in-memory-session.store';
import { sessionStoreSuite } from './session-store.suite';

// real: the in-memory twin and the clock (short expiries); fake: nothing.
sessionStoreSuite('in-memory', async () => createInMemorySessionStore());
