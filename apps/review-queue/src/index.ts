export { ReviewQueueModule } from './review-queue.module';
export { generateReviewDataKey, parseReviewDataKey } from './queue/sealed-proposal';
export { PII_VIEW } from './reviewer-api/reveal.service';
