import { InMemoryIdempotencyRepository } from './fake-idempotency.repository';
import { idempotencyContract } from './idempotency.contract';

// real: the in-memory twin; fake: nothing.
idempotencyContract('in-memory', async () => new InMemoryIdempotencyRepository());
