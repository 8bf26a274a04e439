import { createHmac, hkdfSync } from 'node:crypto';
import { actionDigest, newId, Proposal } from '@countersign/contracts';
import { maskDeep } from '@countersign/guardrails';
import { OperationalContract, RunningContract } from '@countersign/policy';
import type { ReviewItem } from '../review-item/review-item.repository';
import type { ProposalSealer } from '../review-item/sealed-proposal';
import type { DecisionQualityStore } from './decision-quality.store';
import { variedCanary } from './canary-variation';
import { Random, sampled } from './statistics';

/** The contract's `decisionQuality:` section (canaries, second review, outliers); absent parts are off. */
export type DecisionQualityContract = NonNullable<OperationalContract['decisionQuality']>;
export type CanaryTemplate = NonNullable<DecisionQualityContract['canaries']>['templates'][number];

/**
 * The `decisionQuality:` section of the running contract, read at each use (canary rate and templates, second review
 * rate, outlier settings follow approved changes). A path: that file as it is (a bad one stops the boot), for tests.
 */
export function decisionQualityContract(source: string | RunningContract): DecisionQualityContract {
  const running = typeof source === 'string' ? RunningContract.fromFile(source) : source;
  const section = () => running.current().decisionQuality ?? {};
  return {
    get canaries() {
      return section().canaries;
    },
    get secondReview() {
      return section().secondReview;
    },
    get outliers() {
      return section().outliers;
    },
  };
}

/** What the mains give the decision-quality feature. */
export interface DecisionQualityOptions {
  /** `createDecisionQualityStore(pool)` (PostgreSQL or PGlite), `createInMemoryDecisionQualityStore()` in tests. */
  store: DecisionQualityStore;
  contract: DecisionQualityContract;
  /** The random source of the sampling (canaries, second reviews): `Math.random` unless a test fixes it. */
  random?: Random;
  /** How often misses are audited, canaries retired and the queue sampled (default 1 s; samples every `sampleEveryMs`). */
  tickMs?: number;
  /** Queue samples for the governance page: every minute by default, kept `retentionDays` (default 30). */
  sampleEveryMs?: number;
  retentionDays?: number;
}

/**
 * Canaries and blind second reviews, decided beside the review items (ADR 0018). A canary is a review item like any:
 * nothing on it says what it is. Only this class knows: its `decisionEventId` (a real item's is the id of the policy
 * decision that queued it, a name-based UUID) is an HMAC of its action id under a key derived from the review data key,
 * shaped the same. So the check is synchronous, needs no lookup (the review clock's claim asks it inside its
 * transaction), and holds across instances and restarts, while nobody without the key can tell a canary apart.
 */
export class DecisionQuality {
  private readonly markKey: Buffer;
  readonly random: Random;

  constructor(
    readonly options: DecisionQualityOptions,
    dataKey: Buffer,
    private readonly sealer: ProposalSealer,
  ) {
    this.markKey = Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), 'countersign canary mark v1', 32));
    this.random = options.random ?? Math.random;
  }

  get store(): DecisionQualityStore {
    return this.options.store;
  }

  /** The canary mark of an action id, shaped as a name-based UUID like a policy decision event's id. */
  private mark(actionId: string): string {
    const h = createHmac('sha256', this.markKey).update(actionId).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  isCanary(item: Pick<ReviewItem, 'actionId' | 'decisionEventId'>): boolean {
    return item.decisionEventId === this.mark(item.actionId);
  }

  /**
   * A canary to queue beside `real` (a real approval item just queued), or none: sampled at the contract's rate
   * among the templates of the real item's action type. It takes the real item's routing and provenance (class, roles,
   * quorum, SLA, contract version, proposer, model, tenant), its lane reasons and risk (score, rules fired, class), and
   * the template's target and parameters, varied (a target shaped like the real one, amounts and card moved), so its
   * card reads like the real ones beside it: the same reasons in the
   * policy's words, a risk score where they have one (the template's own reasons only when the real item has none: a
   * red-team pass told canaries apart by their reason alone). It has no escalation (the clock must never publish a
   * step for it).
   */
  canaryBeside(real: ReviewItem, now: Date): { item: ReviewItem; template: CanaryTemplate } | undefined {
    const c = this.options.contract.canaries;
    const templates = (c?.templates ?? []).filter((t) => t.actionType === real.proposal.actionType);
    if (!c || !templates.length || real.kind !== 'approval' || this.isCanary(real) || !sampled(c.rate, this.random)) return undefined;
    const template = templates[Math.min(templates.length - 1, Math.floor(this.random() * templates.length))];
    const actionId = newId();
    // Target, amounts and card varied per canary (canary-variation.ts): a number seen on every canary is a tell.
    const proposal: Proposal = { ...real.proposal, ...variedCanary(template, real.proposal.target, this.random) };
    const item: ReviewItem = {
      kind: 'approval',
      actionId,
      correlationId: newId(),
      decisionEventId: this.mark(actionId),
      digest: actionDigest(proposal, real.contractVersion),
      proposal: maskDeep(proposal),
      sealed: this.sealer.seal(actionId, proposal),
      proposerPrincipal: real.proposerPrincipal,
      contractVersion: real.contractVersion,
      reasons: real.reasons.length ? [...real.reasons] : [...template.reasons],
      ...(real.score !== undefined && { score: real.score }),
      ...(real.rulesFired && { rulesFired: [...real.rulesFired] }),
      ...(real.riskClass !== undefined && { riskClass: real.riskClass }),
      slaClass: real.slaClass,
      requiredRoles: [...real.requiredRoles],
      quorum: real.quorum,
      createdAt: now.toISOString(),
      dueAt: new Date(now.getTime() + (Date.parse(real.dueAt) - Date.parse(real.createdAt))).toISOString(),
      ...(real.slaSeconds !== undefined && { slaSeconds: real.slaSeconds }),
      status: 'pending',
    };
    return { item, template };
  }

  /** Whether a human decision goes to a blind second reviewer (the contract's `secondReview.rate`). */
  secondReviewSampled(): boolean {
    return sampled(this.options.contract.secondReview?.rate ?? 0, this.random);
  }
}
