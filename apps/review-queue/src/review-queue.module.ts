import { DynamicModule, Module } from '@nestjs/common';
import type { DecisionSigner } from '@countersign/approval';
import { ApprovalService } from './approvals/approval.service';
import { OutcomeCheckConsumer } from './outcome-checks/outcome-check.consumer';
import { OutcomeCheckService } from './outcome-checks/outcome-check.service';
import { OutcomeChecksController } from './outcome-checks/outcome-checks.controller';
import { ReviewConsumer } from './queue/review.consumer';
import { DecisionOutbox, DecisionOutboxSettings } from './review-item/decision-outbox';
import { ReviewItemRepository } from './review-item/review-item.repository';
import { ProposalSealer } from './review-item/sealed-proposal';
import { RevealService } from './reviewer-api/reveal.service';
import { ReviewsController } from './reviewer-api/reviews.controller';
import { APPROVAL_SIGNING_KEY, DECISION_OUTBOX_SETTINGS, PROPOSAL_SEALER, REVIEW_ITEMS } from './tokens';

export interface ReviewQueueOptions {
  /** The review items: `createReviewItemRepository(pool)` (PostgreSQL) in a distributed main, `createInMemoryReviewItemRepository()` embedded. */
  items: ReviewItemRepository;
  /** The review-decision signing keys (`APPROVAL_SIGNING_KEYS_FILE`): the newest valid at a decision signs it. */
  signingKeys: DecisionSigner;
  /** The 256-bit key that seals the real proposals of review items (`REVIEW_DATA_KEY_FILE`). */
  dataKey: Buffer;
  /** How often decisions whose event is still unpublished are swept, and after how long (default every 5 s, after 5 s). */
  decisionOutbox?: Partial<DecisionOutboxSettings>;
}

/** The review queue: intake of review-lane decisions, the reviewer API, and signed approvals. */
@Module({})
export class ReviewQueueModule {
  static register(options: ReviewQueueOptions): DynamicModule {
    return {
      module: ReviewQueueModule,
      controllers: [ReviewsController, OutcomeChecksController],
      providers: [
        ReviewConsumer,
        ApprovalService,
        RevealService,
        OutcomeCheckService,
        OutcomeCheckConsumer,
        DecisionOutbox,
        { provide: DECISION_OUTBOX_SETTINGS, useValue: options.decisionOutbox ?? {} },
        { provide: PROPOSAL_SEALER, useValue: new ProposalSealer(options.dataKey) },
        { provide: REVIEW_ITEMS, useValue: options.items },
        { provide: APPROVAL_SIGNING_KEY, useValue: options.signingKeys },
      ],
    };
  }
}
