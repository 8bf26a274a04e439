import { hkdfSync, randomUUID } from 'node:crypto';
import { DynamicModule, Module } from '@nestjs/common';
import { DecisionSigner, verifyKeysOfSigner, VerifyKeys } from '@countersign/approval';
import { ApprovalService } from './approvals/approval.service';
import { ClaimBreakController } from './claims/claim-break.controller';
import { ClaimBreakService } from './claims/claim-break.service';
import { ClaimService } from './claims/claim.service';
import { OutcomeCheckConsumer } from './outcome-checks/outcome-check.consumer';
import { OutcomeCheckService } from './outcome-checks/outcome-check.service';
import { OutcomeChecksController } from './outcome-checks/outcome-checks.controller';
import { ProposerBacklogCap } from './queue/proposer-backlog-cap';
import { withMaskedReasons } from './review-item/masked-reasons';
import { withSealedView } from './review-item/sealed-view';
import { ReviewConsumer } from './queue/review.consumer';
import { EscalationNotifier } from './review-clock/escalation-notifier';
import { ReviewClock, ReviewClockSettings } from './review-clock/review-clock';
import { SlaMetrics } from './review-clock/sla-metrics';
import { degradationParts, DegradationOptions } from './degradation/degradation.providers';
import { trustParts, TrustMonitorOptions } from './trust/trust.providers';
import { portalTlsParts, PortalTlsOptions } from './portal-tls/portal-tls.providers';
import { InboxOptions } from './inbox/inbox.options';
import { inboxParts } from './inbox/inbox.providers';
import { DecisionQuality, DecisionQualityOptions } from './decision-quality/decision-quality';
import { DecisionQualityService } from './decision-quality/decision-quality.service';
import { AutomationConsumer } from './decision-quality/automation.consumer';
import { withDecisionQuality } from './decision-quality/quality-tracking';
import { withSealedSessions } from './inbox/sealed-session.store';
import { GovernancePageController } from './governance-page/governance-page.controller';
import type { Logger } from '@countersign/logging';
import { followContract, LOGGER } from '@countersign/nest';
import type { VerifyKey } from '@countersign/keys';
import { KeyList, RunningContract } from '@countersign/policy';
import { DecisionOutbox, DecisionOutboxSettings } from './review-item/decision-outbox';
import { ReviewItemRepository } from './review-item/review-item.repository';
import { ProposalSealer } from './review-item/sealed-proposal';
import { contractNow } from './review-item/contract-now';
import { filterChoices } from './inbox/filter-choices';
import { killSwitchParts } from './kill-switches/kill-switch-now';
import { RevealService } from './reviewer-api/reveal.service';
import { ReviewsController } from './reviewer-api/reviews.controller';
import { RevisionService } from './revisions/revision.service';
import { revisionMoneyFields, revisionParameterCheck } from './revisions/revised-parameters';
import {
  APPROVAL_SIGNING_KEY,
  REVIEW_QUEUE_VERIFY_KEYS,
  DECISION_KEYS,
  OUTCOME_KEYS,
  DECISION_OUTBOX_SETTINGS,
  DECISION_QUALITY,
  ESCALATION_NOTIFIER,
  CONTRACT_NOW,
  FILTER_CHOICES,
  PROPOSAL_SEALER,
  REVIEW_CLOCK_SETTINGS,
  REVIEW_ITEMS,
  REVISION_MONEY_FIELDS,
  REVISION_PARAMETER_CHECK,
} from './tokens';

export interface ReviewQueueOptions {
  /** The review items: `createReviewItemRepository(pool)` (PostgreSQL) in a distributed main, `createInMemoryReviewItemRepository()` embedded. */
  items: ReviewItemRepository;
  /** The review-decision signing keys (`APPROVAL_SIGNING_KEYS_FILE`): the newest valid at a decision signs it. */
  signingKeys: DecisionSigner;
  /** The policy engine's public decision keys (`DECISION_VERIFY_KEYS_FILE`): only a sealed decision is queued (docs/adr/0040). */
  decisionKeys: VerifyKeys;
  /** The executor's public outcome keys (`OUTCOME_VERIFY_KEYS_FILE`): only an outcome check it sealed is queued (docs/adr/0042). */
  outcomeKeys: VerifyKeys;
  /** The 256-bit key that seals the real proposals of review items (`REVIEW_DATA_KEY_FILE`). */
  dataKey: Buffer;
  /** How often decisions whose event is still unpublished are swept, and after how long (default every 5 s, after 5 s). */
  decisionOutbox?: Partial<DecisionOutboxSettings>;
  /**
   * The degradation controller (backlog gauges, leader lease, SLOs, `GET /v1/governance`): both mains give it; a test
   * of another feature may leave it out (no controller then, and the mode stays whatever the control topic says).
   */
  degradation?: DegradationOptions;
  /** The review clock's period (`REVIEW_CLOCK_PERIOD_MS`, default 1 s) and, in tests, a fake clock. */
  clock?: Partial<ReviewClockSettings>;
  /** Where escalation notices go (`createWebhookEscalationNotifier`); none: no notice (the escalation's event still goes out). */
  notifier?: EscalationNotifier;
  /** The reviewer inbox (`/reviews`, OpenID Connect sign-in): both mains give it; absent, only the JSON API. */
  inbox?: InboxOptions;
  /**
   * Decision quality (ADR 0018): dwell, canaries, blind second reviews, outliers, and with the inbox the governance page
   * (`/reviews/governance`) and second reviews (`/reviews/second-review`). Absent: not measured.
   */
  decisionQuality?: DecisionQualityOptions;
  /**
   * The trust monitor (ADR 0019): every service's key files, checked each `checkMs`, the verdict published on the trust
   * health control topic. Both mains give it; a test of another feature may leave it out.
   */
  trust?: TrustMonitorOptions;
  /**
   * The reviewer portal's certificate from an ACME CA (ADR 0027): obtained, renewed and written to `portal.pem` /
   * `portal.key`. The distributed main gives it when `PORTAL_ACME_DIRECTORY_URL` is set; absent: no ACME.
   */
  portalTls?: PortalTlsOptions;
  /**
   * The operational contract as the policy engines run it: `RunningContract.fromFile(CONTRACT_PATH)`, then each approved
   * change (`policy.contract.changed.v1`, replayed at every start). Give the same one to `degradationContract` and
   * `decisionQualityContract`, so SLA classes, thresholds and sampling follow the changes too. With it, an approval with
   * changes whose parameters its schema refuses is a 400, and the item waits as it was. Absent (a test of another
   * feature): the policy engine finds out, after.
   */
  contract?: RunningContract;
  /** The keys that verify a contract change's signature (`CONTRACT_VERIFY_KEYS_FILE`, docs/adr/0038); none: no change applies. */
  contractChangeKeys?: KeyList<VerifyKey>;
  /** The kill switches' flag prefix (`FLAG_PREFIX`, as the executor's; default `countersign.exec.`): the card says when one is off. */
  killSwitchPrefix?: string;
}

/** The review queue: intake of review-lane decisions, the reviewer API, and signed approvals. */
@Module({})
export class ReviewQueueModule {
  static register(options: ReviewQueueOptions): DynamicModule {
    const sealer = new ProposalSealer(options.dataKey);
    // A canary is assessed by the running contract, as the policy engine assesses a proposal (decision-quality.ts).
    const running = options.contract;
    const quality =
      options.decisionQuality &&
      new DecisionQuality({ ...(running && { policy: () => running.compiledContract() }), ...options.decisionQuality }, options.dataKey, sealer);
    // Decision quality wraps the store, and the inbox's sessions are sealed: both log through the service's logger, known
    // once the module is built.
    let builtLogger: Logger | undefined;
    const log: Logger = new Proxy({} as Logger, { get: (_t, p) => (builtLogger as unknown as Record<string | symbol, unknown>)?.[p] ?? (() => undefined) });
    // Reasons people write are stored masked, whatever the store (masked-reasons.ts).
    // A single item reads its proposal from its sealed copy (sealed-view.ts), not from a column anyone with the database
    // credential can write.
    const stored = withSealedView(withMaskedReasons(options.items), sealer, log, running && revisionMoneyFields(running));
    const withQuality = (inner: ReviewItemRepository) => (quality ? withDecisionQuality(inner, quality, log) : inner);
    // With the degradation feature, decision quality wraps the items kept with their backlog gauges, not the reverse:
    // a canary it releases (or the clock steps) moves the gauges as a real item does. They left canaries out while
    // `GET /v1/reviews` listed them, so a reviewer watching the queue depth told a canary apart (red team, 2026-12-05).
    const degradation = options.degradation && degradationParts(stored, options.degradation, withQuality);
    // Session records are sealed under a key of the queue's own: one written into the store by anything else is no session.
    const inbox =
      options.inbox &&
      inboxParts({
        ...options.inbox,
        sessions: withSealedSessions(options.inbox.sessions, options.dataKey, () =>
          log.warn('an inbox session record the review queue did not write (or wrote under another key) was refused'),
        ),
        signInKey: Buffer.from(hkdfSync('sha256', options.dataKey, Buffer.alloc(0), 'countersign inbox sign-in cookie v1', 32)),
      });
    const contract = options.contract;
    return {
      module: ReviewQueueModule,
      controllers: [
        ReviewsController,
        ClaimBreakController,
        OutcomeChecksController,
        ...(degradation?.controllers ?? []),
        // Before the inbox's: its `/reviews/:actionId` would take `/reviews/governance`.
        ...(quality && inbox ? [GovernancePageController] : []),
        ...(inbox?.controllers ?? []),
      ],
      providers: [
        ReviewConsumer,
        ProposerBacklogCap,
        ApprovalService,
        ClaimService,
        ClaimBreakService,
        RevisionService,
        RevealService,
        OutcomeCheckService,
        OutcomeCheckConsumer,
        DecisionOutbox,
        ReviewClock,
        SlaMetrics,
        { provide: DECISION_OUTBOX_SETTINGS, useValue: options.decisionOutbox ?? {} },
        { provide: REVIEW_CLOCK_SETTINGS, useValue: options.clock ?? {} },
        ...(options.notifier ? [{ provide: ESCALATION_NOTIFIER, useValue: options.notifier }] : []),
        { provide: PROPOSAL_SEALER, useValue: sealer },
        // With the degradation feature, the items keep the backlog gauges beside them (it provides REVIEW_ITEMS).
        ...(degradation ? degradation.providers : [{ provide: REVIEW_ITEMS, useValue: withQuality(stored) }]),
        { provide: APPROVAL_SIGNING_KEY, useValue: options.signingKeys },
        { provide: REVIEW_QUEUE_VERIFY_KEYS, useValue: verifyKeysOfSigner(options.signingKeys) },
        { provide: DECISION_KEYS, useValue: options.decisionKeys },
        { provide: OUTCOME_KEYS, useValue: options.outcomeKeys },
        ...(contract
          ? [
              ...followContract(contract, 'review-queue', options.degradation?.settings?.instanceId ?? randomUUID().slice(0, 8), options.contractChangeKeys),
              { provide: REVISION_PARAMETER_CHECK, useValue: revisionParameterCheck(contract) },
              { provide: REVISION_MONEY_FIELDS, useValue: revisionMoneyFields(contract) },
              { provide: CONTRACT_NOW, useValue: contractNow(contract, sealer) },
              { provide: FILTER_CHOICES, useValue: filterChoices(contract) },
            ]
          : []),
        // The approved kill-switch states (the autonomy control topic): a card whose type is switched off says so.
        ...killSwitchParts(options.killSwitchPrefix),
        ...(options.trust ? trustParts(options.trust, verifyKeysOfSigner(options.signingKeys)) : []),
        ...(options.portalTls ? portalTlsParts(options.portalTls) : []),
        ...(inbox?.providers ?? []),
        ...(quality ? [{ provide: DECISION_QUALITY, useValue: quality }, DecisionQualityService, AutomationConsumer] : []),
        { provide: 'ReviewQueueWrappersLogger', useFactory: (l: Logger) => (builtLogger = l), inject: [LOGGER] },
      ],
    };
  }
}
