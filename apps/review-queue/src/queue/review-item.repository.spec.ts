import { InMemoryReviewItemRepository } from './fake-review-item.repository';
import { reviewItemContract } from './review-item.contract';

// real: the in-memory twin; fake: nothing.
reviewItemContract('in-memory', async () => new InMemoryReviewItemRepository());
