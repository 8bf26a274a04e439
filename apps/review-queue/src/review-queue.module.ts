import { DynamicModule, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { SigningKey } from '@countersign/approval';
import { ApprovalService } from './approvals/approval.service';
import { InMemoryReviewItemRepository } from './queue/fake-review-item.repository';
import { ReviewConsumer } from './queue/review.consumer';
import { RedisReviewItemRepository } from './queue/review-item.repository';
import { ProposalSealer } from './queue/sealed-proposal';
import { RevealService } from './reviewer-api/reveal.service';
import { ReviewsController } from './reviewer-api/reviews.controller';
import { APPROVAL_SIGNING_KEY, PROPOSAL_SEALER, REVIEW_ITEMS } from './tokens';

export interface ReviewQueueOptions {
  /** Redis for the queue; in-process when absent (embedded mode). */
  redis?: Redis;
  signingKey: SigningKey;
  /** The 256-bit key that seals the real proposals of review items (`REVIEW_DATA_KEY_FILE`). */
  dataKey: Buffer;
}

/** The review queue: intake of review-lane decisions, the reviewer API, and signed approvals. */
@Module({})
export class ReviewQueueModule {
  static register(options: ReviewQueueOptions): DynamicModule {
    return {
      module: ReviewQueueModule,
      controllers: [ReviewsController],
      providers: [
        ReviewConsumer,
        ApprovalService,
        RevealService,
        { provide: PROPOSAL_SEALER, useValue: new ProposalSealer(options.dataKey) },
        { provide: REVIEW_ITEMS, useValue: options.redis ? new RedisReviewItemRepository(options.redis) : new InMemoryReviewItemRepository() },
        { provide: APPROVAL_SIGNING_KEY, useValue: options.signingKey },
      ],
    };
  }
}
