import { join } from 'node:path';
export { ReviewQueueModule } from './review-queue.module';
export { createInMemoryReviewItemRepository } from './review-item/in-memory-review-item.repository';
export { generateReviewDataKey, parseReviewDataKey } from './review-item/sealed-proposal';
export { PII_VIEW } from './reviewer-api/reveal.service';
// PostgreSQL adapter, for a host that brings a pool (the distributed main, an embedded database), and the
// migrations it must apply first (`migrate` from @countersign/storage, service `review-queue`).
export { createReviewItemRepository } from './review-item/pg-review-item.repository';
export const REVIEW_QUEUE_MIGRATIONS_DIR = join(__dirname, '../migrations');
