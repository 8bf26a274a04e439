import { InMemoryRateLimiter } from '@countersign/policy';
import { rateLimiterSuite } from './rate-limiter.suite';

// real: the in-process limiter; fake: nothing.
rateLimiterSuite('in-memory', async () => new InMemoryRateLimiter());
