import { InMemoryIdempotencyRepository } from './in-memory-idempotency.repository';
import { idempotencySuite } from './idempotency.suite';

// real: the in-memory twin; fake: nothing.
idempotencySuite('in-memory', async () => new InMemoryIdempotencyRepository());
