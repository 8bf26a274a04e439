// The port of the trust monitor's inputs: whatever it watches (key files now, certificates later) is a source that
// reports findings. Adapters: `key-file.source.ts`; a certificate source joins the list without touching the monitor.
import type { TrustFindingSchema, TrustHealthSchema } from '@countersign/contracts';
import type { z } from 'zod';

/** One thing checked, as the control topic carries it. */
export type TrustFinding = z.infer<typeof TrustFindingSchema>;
export type TrustHealth = z.infer<typeof TrustHealthSchema>;

/** Something the trust monitor watches: asked at every check, it looks again (rotation is a new file, no restart). */
export interface TrustSource {
  /** A name for the log. */
  readonly name: string;
  /** What it finds at `now`. Never throws: what cannot be read is a finding (`missing`, `unreadable`). */
  check(now: Date): TrustFinding[];
}

const WORST: Record<TrustFinding['status'], TrustHealth> = {
  ok: 'healthy',
  'rotation-due': 'degraded',
  expired: 'unhealthy',
  missing: 'unhealthy',
  unreadable: 'unhealthy',
};
const RANK: Record<TrustHealth, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

/** The overall health of `findings` (the worst of them) and why, in words. Nothing watched is unhealthy: nobody vouches. */
export function assessTrust(findings: readonly TrustFinding[]): { health: TrustHealth; reason: string } {
  if (!findings.length) return { health: 'unhealthy', reason: 'the trust monitor watches nothing: no key vouched for' };
  const health = findings.map((f) => WORST[f.status]).reduce((a, b) => (RANK[b] > RANK[a] ? b : a), 'healthy' as TrustHealth);
  const bad = findings.filter((f) => f.status !== 'ok');
  const reason = bad.length
    ? `${health}: ${bad.map((f) => `${f.owner} ${f.purpose} ${f.status}${f.keyId ? ` (${f.keyId})` : ''}`).join('; ')}`
    : `healthy: ${findings.length} key file(s) with a valid key`;
  return { health, reason: reason.slice(0, 2000) };
}

/** Whether `b` is worse than `a`. */
export const worse = (a: TrustHealth | undefined, b: TrustHealth): boolean => RANK[b] > RANK[a ?? 'healthy'];
