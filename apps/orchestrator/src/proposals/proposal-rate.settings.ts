import { settings } from '@countersign/config';
import type { Rate } from '@countersign/limits';

// The proposal rate's settings alone, apart from its guard: a main validates them before it loads the services
// (`@countersign/orchestrator/settings`), so a setting it refuses is said at once, not after Nest and the rest load.

/** How fast one principal may propose over HTTP, on one orchestrator instance: `perSecond` on average, `burst` at once. */
export type ProposalRate = Rate;

/**
 * The default: well above what one agent proposes in normal work (a person reviews a handful a minute), well below
 * what floods the review queue and the audit log (docs/adr/0048).
 */
export const DEFAULT_PROPOSAL_RATE: ProposalRate = { perSecond: 100, burst: 1_000 };

/**
 * The embedded mode's default: all five services share one process, which takes some 50–90 proposals a second on two
 * cores; one agent at 100 a second slowed every other caller to seconds (red team, 2026-12-05).
 */
export const EMBEDDED_PROPOSAL_RATE: ProposalRate = { perSecond: 20, burst: 200 };

/** The settings of a main that serves `POST /v1/proposals` (the orchestrator's, the embedded mode's), validated at boot. */
export const proposalRateSettings = (defaults: ProposalRate = DEFAULT_PROPOSAL_RATE) => ({
  /** How many proposals one principal may send over HTTP a second, on average, on one instance. */
  PROPOSALS_PER_SECOND: settings.number(defaults.perSecond, { min: 0.001, max: 1_000_000 }),
  /** …and at once, after a quiet spell. */
  PROPOSAL_BURST: settings.number(defaults.burst, { min: 1, max: 10_000_000, integer: true }),
});

/** The rate the settings above say. */
export const proposalRateOf = (config: { PROPOSALS_PER_SECOND: number; PROPOSAL_BURST: number }): ProposalRate => ({
  perSecond: config.PROPOSALS_PER_SECOND,
  burst: config.PROPOSAL_BURST,
});
