import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { actionDigest, derivedEventId, newId, Proposal, TOPICS } from '@countersign/contracts';
import { maskDeep } from '@countersign/guardrails';
import {
  checkAggregateLimits,
  checkRateLimits,
  CompiledContract,
  createInMemoryRateLimiter,
  evaluate,
  OperationalContract,
  RunningContract,
} from '@countersign/policy';
import type { ReviewItem } from '../review-item/review-item.repository';
import { routedAt, RoutedFields } from '../review-item/review-routing';
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
  /**
   * The running contract, compiled (the review queue's `RunningContract`): a canary is assessed by it as the policy
   * engine would assess the same proposal (score, rules fired, reasons, routing). Absent: the real item's are taken.
   */
  policy?: () => CompiledContract;
  /**
   * How long one summary of the decisions serves the governance page while no decision is recorded here (default 10 s;
   * `SummaryMemo`): another instance's decisions show within it.
   */
  summaryKeptMs?: number;
  /** Runs `release` after `ms` (a timer, cleared by `stop`); a test may hold it. */
  schedule?: (release: () => void, ms: number) => void;
}

/** The longest a canary waits before it joins the queue (and at most a quarter of its SLA): it never arrives on a real item's heels. */
export const CANARY_MAX_DELAY_MS = 120_000;

/**
 * Canaries and blind second reviews, decided beside the review items (ADR 0018). A canary is a review item like any:
 * nothing on it says what it is. Only this class knows: its action id, shaped as a random UUID like every action id,
 * carries an HMAC of its first half under a key derived from the review data key in its second; its other ids derive
 * from it as a real item's do. So the check is synchronous, needs no lookup (the review clock's claim asks it inside its
 * transaction), and holds across instances and restarts, while nobody without the key can tell a canary apart.
 */
export class DecisionQuality {
  private readonly markKey: Buffer;
  private readonly timers = new Set<NodeJS.Timeout>();
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

  /** Bumped after each reviewer decision this process records and each purge: what a memo of the decisions' summary keys on. */
  private decisionsChanged = 0;
  get decisionsGeneration(): number {
    return this.decisionsChanged;
  }
  noteDecisionsChanged(): void {
    this.decisionsChanged++;
  }

  /**
   * A canary's action id: shaped as a random UUID (version 4) like every action id (`newId`), its first half random and
   * its second an HMAC of the first under the mark key (62 bits of it). Without the key it reads as random; a real
   * action id matches by chance once in 2^62.
   */
  private canaryActionId(): string {
    const head = randomBytes(8).toString('hex');
    const first = `${head.slice(0, 12)}4${head.slice(13, 16)}`;
    return uuidShape(first + this.markOf(first));
  }

  /** The second half of a canary's action id (hex, its variant nibble set) for its first half. */
  private markOf(first: string): string {
    const h = createHmac('sha256', this.markKey).update(first).digest('hex');
    return `${((parseInt(h[15], 16) & 3) | 8).toString(16)}${h.slice(0, 15)}`;
  }

  /**
   * How canaries were marked before 2026-12-04: their decision event id, an HMAC of the action id where a real item's
   * derives from its action id by public rules, so a reviewer could compute it and tell every canary apart (red team,
   * 2026-12-04). Still read, for the canaries queued then.
   */
  private legacyMark(actionId: string): string {
    return uuidShape(createHmac('sha256', this.markKey).update(actionId).digest('hex'), '5');
  }

  isCanary(item: Pick<ReviewItem, 'actionId' | 'decisionEventId'>): boolean {
    const hex = item.actionId.replace(/-/g, '');
    if (/^[0-9a-f]{12}4[0-9a-f]{19}$/.test(hex) && this.markOf(hex.slice(0, 16)) === hex.slice(16)) return true;
    return item.decisionEventId === this.legacyMark(item.actionId);
  }

  /**
   * Whether to bring a canary after `real` (a real approval item just queued): sampled at the contract's rate among the
   * templates of its action type. When: a delay drawn at random up to `CANARY_MAX_DELAY_MS` (and a quarter of the SLA),
   * so a canary does not arrive milliseconds after a real item, a pair a reviewer learns to spot (red team, round 14).
   */
  sampleCanary(real: ReviewItem): { template: CanaryTemplate; delayMs: number } | undefined {
    const c = this.options.contract.canaries;
    const templates = (c?.templates ?? []).filter((t) => t.actionType === real.proposal.actionType);
    if (!c || !templates.length || real.kind !== 'approval' || this.isCanary(real) || !sampled(c.rate, this.random)) return undefined;
    const template = templates[Math.min(templates.length - 1, Math.floor(this.random() * templates.length))];
    const slaMs = Date.parse(real.dueAt) - Date.parse(real.createdAt);
    return { template, delayMs: Math.floor(this.random() * Math.min(CANARY_MAX_DELAY_MS, Math.max(0, slaMs / 4))) };
  }

  /** Runs `release` after `ms`, unless stopped first (`stop`). */
  later(release: () => void, ms: number): void {
    if (this.options.schedule) return this.options.schedule(release, ms);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      release();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  /** Drops the canaries still waiting to join the queue (a sample lost, nothing else: nothing was stored for them). */
  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /**
   * The canary item of `template`, joining the queue at `now`, read like the real items of its type: it takes `real`'s
   * provenance (proposer, model, tenant, contract version) and the template's target and parameters, varied (a target
   * shaped like the real one, amounts and card moved: canary-variation.ts). Its assessment is the running contract's
   * own on it (risk score, rules fired, reasons in the policy's words, routing, SLA, escalation and fallback team), so
   * nothing on its card is copied from another item; when the contract would not send it to review (another lane), or
   * none is given, `real`'s assessment and routing are taken (its reasons; the template's only when it has none: a
   * red-team pass told canaries apart by their reason alone). The review clock steps it like any item; its steps'
   * events are never published (quality-tracking.ts).
   */
  async canaryItem(real: ReviewItem, template: CanaryTemplate, now: Date): Promise<ReviewItem> {
    const actionId = this.canaryActionId();
    const proposal: Proposal = { ...real.proposal, ...variedCanary(template, real.proposal, this.random) };
    const assessed = await this.assess(proposal, real.proposerPrincipal, actionId, now);
    const risk = assessed
      ? { reasons: assessed.reasons, score: assessed.score, rulesFired: assessed.rulesFired, riskClass: assessed.riskClass }
      : {
          reasons: real.reasons.length ? [...real.reasons] : [...template.reasons],
          ...(real.score !== undefined && { score: real.score }),
          ...(real.rulesFired && { rulesFired: [...real.rulesFired] }),
          ...(real.riskClass !== undefined && { riskClass: real.riskClass }),
        };
    // The version it was assessed under, as a real item queued now has: copied from `real`, a canary queued in the
    // minutes after a contract change showed the version before it, older than the real items around it (red team,
    // 2026-12-06).
    const contractVersion = assessed?.contractVersion ?? real.contractVersion;
    return {
      kind: 'approval',
      actionId,
      correlationId: newId(),
      // The id a real item's policy decision has: derived from its action id's proposal event, as the orchestrator and
      // the policy engine derive them (proposals.service.ts `proposedEventId`, then the decision's `derivedEventId`).
      decisionEventId: derivedEventId(TOPICS.policyDecided, derivedEventId(TOPICS.actionProposed, actionId)),
      digest: actionDigest(proposal, contractVersion),
      proposal: maskDeep(proposal),
      sealed: this.sealer.seal(actionId, proposal),
      proposerPrincipal: real.proposerPrincipal,
      contractVersion,
      ...risk,
      ...(assessed?.review ? routedAt(assessed.review, now) : routedLike(real, now)),
      status: 'pending',
    };
  }

  /**
   * The running contract's decision on the canary's proposal, when it sends it to review; undefined otherwise. The
   * inputs of a normal day, and the contract's rate and aggregate limits as for the first such action in their windows
   * (counted on a limiter of its own: a canary takes nothing from the real ones'): a refund above an aggregate limit's
   * amount exceeds it alone, as a real one does (red team, round 15: a canary lacked the limit's reason every real
   * refund above it shows). Anomalies are left out: they need the agent's history, and fire on few real items.
   */
  private async assess(proposal: Proposal, proposer: string, actionId: string, now: Date) {
    const compiled = this.options.policy?.();
    if (!compiled) return undefined;
    const limiter = createInMemoryRateLimiter();
    const [rateLimited, aggregateLimited] = await Promise.all([
      checkRateLimits(compiled.contract, proposal, proposer, actionId, limiter, now),
      checkAggregateLimits(compiled, proposal, actionId, limiter, now),
    ]);
    const d = evaluate(compiled, proposal, {
      killSwitch: 'on',
      degradationMode: 'normal',
      trustStackHealthy: true,
      autonomy: 'autonomous',
      rateLimited,
      aggregateLimited,
      now,
      actionId,
    });
    return d.lane === 'review' && d.review ? d : undefined;
  }

  /** Whether a human decision goes to a blind second reviewer (the contract's `secondReview.rate`). */
  secondReviewSampled(): boolean {
    return sampled(this.options.contract.secondReview?.rate ?? 0, this.random);
  }
}

/** `real`'s routing and clock, shifted to an item queued at `now` (the same SLA, escalation share and fallback team). */
function routedLike(real: ReviewItem, now: Date): RoutedFields {
  const shifted = (at: string) => new Date(now.getTime() + (Date.parse(at) - Date.parse(real.createdAt))).toISOString();
  return {
    slaClass: real.slaClass,
    requiredRoles: [...real.requiredRoles],
    quorum: real.quorum,
    createdAt: now.toISOString(),
    dueAt: shifted(real.dueAt),
    ...(real.slaSeconds !== undefined && { slaSeconds: real.slaSeconds }),
    ...(real.escalateAt && { escalateAt: shifted(real.escalateAt) }),
    ...(real.escalateTo && { escalateTo: [...real.escalateTo] }),
    ...(real.fallbackTeam && { fallbackTeam: real.fallbackTeam }),
  };
}

/** 32 hex digits as a UUID; `version` overwrites the version nibble and the variant is set, as name-based ids are shaped. */
function uuidShape(h: string, version?: string): string {
  const v = version ? `${version}${h.slice(13, 16)}` : h.slice(12, 16);
  const variant = version ? `${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}` : h.slice(16, 20);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${v}-${variant}-${h.slice(20, 32)}`;
}
