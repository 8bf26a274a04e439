import { DynamicModule, Module } from '@nestjs/common';
import type { DecisionSigner } from '@countersign/approval';
import { ApprovalService } from './approvals/approval.service';
import { ReviewConsumer } from './queue/review.consumer';
import { ReviewItemRepository } from './review-item/review-item.repository';
import { ProposalSealer } from './review-item/sealed-proposal';
import { RevealService } from './reviewer-api/reveal.service';
import { ReviewsController } from './reviewer-api/reviews.controller';
import { APPROVAL_SIGNING_KEY, PROPOSAL_SEALER, REVIEW_ITEMS } from './tokens';

export interface ReviewQueueOptions {
  /** The review items: `createReviewItemRepository(redis)` in a distributed main, `createInMemoryReviewItemRepository()` embedded. */
  items: ReviewItemRepository;
  /** The review-decision signing keys (`APPROVAL_SIGNING_KEYS_FILE`): the newest valid at a decision signs it. */
  signingKeys: DecisionSigner;
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
        { provide: REVIEW_ITEMS, useValue: options.items },
        { provide: APPROVAL_SIGNING_KEY, useValue: options.signingKeys },
      ],
    };
  }
}
