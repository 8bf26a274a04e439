import { InMemoryLeaderLease } from './in-memory-leader-lease';
import { leaderLeaseSuite } from './leader-lease.suite';

// real: the in-memory twin and the clock (short TTLs); fake: nothing.
leaderLeaseSuite('in-memory', async () => new InMemoryLeaderLease());
