export { ReviewQueueModule } from './review-queue.module';
