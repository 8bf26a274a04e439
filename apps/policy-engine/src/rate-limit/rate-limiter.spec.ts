import { InMemoryRateLimiter } from '@countersign/policy';
import { rateLimiterContract } from './rate-limiter.contract';

// real: the in-process limiter; fake: nothing.
rateLimiterContract('in-memory', async () => new InMemoryRateLimiter());
