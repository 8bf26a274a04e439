import { InMemoryReviewItemRepository } from './in-memory-review-item.repository';
import { reviewItemSuite } from './review-item.suite';

// real: the in-memory twin; fake: nothing.
reviewItemSuite('in-memory', async () => new InMemoryReviewItemRepository());
