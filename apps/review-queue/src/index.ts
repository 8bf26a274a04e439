export { ReviewQueueModule } from './review-queue.module';
export { createInMemoryReviewItemRepository } from './review-item/in-memory-review-item.repository';
export { generateReviewDataKey, parseReviewDataKey } from './review-item/sealed-proposal';
export { PII_VIEW } from './reviewer-api/reveal.service';
