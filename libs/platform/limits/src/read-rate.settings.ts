import { settings } from '@countersign/config';
import type { Rate } from './token-buckets';

// The read rate's settings alone, apart from its guard (libs/platform/nest, read-rate.ts): the embedded main validates
// them before it loads Nest, so a setting it refuses is said at once.

/**
 * How fast one principal may read (GET, HEAD) over HTTP, on one instance of a service: `perSecond` on average, `burst`
 * at once, and at most `inFlight` reads under way at the same time (a long poll, which waits rather than works, is not
 * one of them).
 */
export interface ReadLimits extends Rate {
  inFlight: number;
}

/**
 * Each read is a database query or more (an action's timeline, a page of reviews); one agent reading 447 random ids a
 * second took another's p99 to 671 ms (overload probe, 2026-12-06). Well above an agent polling its actions or a tool
 * paging through the queue; well below a flood (docs/adr/0048, addendum 2026-12-07).
 */
export const DEFAULT_READ_RATE: ReadLimits = { perSecond: 100, burst: 1_000, inFlight: 16 };

/**
 * The embedded mode's: its one process serves every service's reads, and its proposals' (`EMBEDDED_PROPOSAL_RATE`). It
 * answers some 800 reads a second on two cores (`npm run bench:read-flood`, 2026-12-07): a burst of 500 would be 0.6 s of
 * its work at once, so the burst is two seconds' worth, 100. Eight reads in flight at most: another
 * agent's read waits behind at most eight of one flooding principal's (about 1.2 ms each here).
 */
export const EMBEDDED_READ_RATE: ReadLimits = { perSecond: 50, burst: 100, inFlight: 8 };

/** The read rate's settings, validated at boot by every main that serves HTTP. */
export const readRateSettings = (defaults: ReadLimits = DEFAULT_READ_RATE) => ({
  /** How many reads (GET, HEAD) one principal may send a second, on average, on one instance. */
  READS_PER_SECOND: settings.number(defaults.perSecond, { min: 0.001, max: 1_000_000 }),
  /** …and at once, after a quiet spell. */
  READ_BURST: settings.number(defaults.burst, { min: 1, max: 10_000_000, integer: true }),
  /** …and at most this many under way at the same time (long polls aside). */
  READS_IN_FLIGHT: settings.number(defaults.inFlight, { min: 1, max: 1_000_000, integer: true }),
});

/** The rate the settings above say. */
export const readRateOf = (config: { READS_PER_SECOND: number; READ_BURST: number; READS_IN_FLIGHT: number }): ReadLimits => ({
  perSecond: config.READS_PER_SECOND,
  burst: config.READ_BURST,
  inFlight: config.READS_IN_FLIGHT,
});
