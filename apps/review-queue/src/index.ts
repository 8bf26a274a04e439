import { join } from 'node:path';
export { ReviewQueueModule } from './review-queue.module';
export { createInMemoryReviewItemRepository } from './review-item/in-memory-review-item.repository';
export { generateReviewDataKey, parseReviewDataKey } from './review-item/sealed-proposal';
export { PII_VIEW } from './reviewer-api/reveal.service';
// PostgreSQL adapter, for a host that brings a pool (the distributed main, an embedded database), and the
// migrations it must apply first (`migrate` from @countersign/storage, service `review-queue`).
export { createReviewItemRepository } from './review-item/pg-review-item.repository';
export { createPrincipalRoster } from './principal-roster/pg-principal-roster';
export { keepRemovals } from './principal-roster/principal-roster';
export type { PrincipalRoster } from './principal-roster/principal-roster';
export const REVIEW_QUEUE_MIGRATIONS_DIR = join(__dirname, '../migrations');
// The degradation controller's adapters for a host: in-memory gauges and lease (embedded), the review history over a
// pool (both modes), and the contract's thresholds.
export { createInMemoryBacklogGauges } from './degradation/in-memory-backlog-gauges';
export { createInMemoryLeaderLease } from './degradation/in-memory-leader-lease';
export { createReviewHistory } from './degradation/pg-review-history';
export { degradationContract, PROJECT_CONTRACT_PATH } from './degradation/degradation.providers';
// Their Redis adapters, as the distributed main builds them, for a benchmark that runs the review queue as users do.
export { createBacklogGauges } from './degradation/redis-backlog-gauges';
export { createLeaderLease } from './degradation/redis-leader-lease';
export type { DegradationOptions } from './degradation/degradation.providers';
// The reviewer inbox's settings and its in-memory session store, for a host that signs reviewers in (both mains).
export { createInMemorySessionStore } from './inbox/in-memory-session.store';
export type { InboxOptions } from './inbox/inbox.options';
// Decision quality (ADR 0018): its PostgreSQL store (PGlite embedded) and the contract's `decisionQuality:` section.
export { createDecisionQualityStore } from './decision-quality/pg-decision-quality.store';
export { decisionQualityContract } from './decision-quality/decision-quality';
export { DecisionQualityService } from './decision-quality/decision-quality.service';
// The decision path's services and the inbox's page size, for benchmarks that drive them in process (bench/review.bench.ts).
export { ApprovalService } from './approvals/approval.service';
export { ClaimService } from './claims/claim.service';
export { INBOX_PAGE_SIZE } from './inbox/inbox.controller';
// The trust monitor (ADR 0019): its options and the rotation warning, for a host that watches its key files.
export type { TrustMonitorOptions } from './trust/trust.providers';
export { KeyListSource } from './trust/key-file.source';
export type { WatchedKeyFile } from './trust/key-file.source';
export { DEFAULT_ROTATION_WARNING_MS } from './trust/trust.providers';
export * from './settings';
