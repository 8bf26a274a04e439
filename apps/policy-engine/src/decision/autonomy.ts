import { FlagReader } from '@countersign/flags';
import type { AutonomyLevel } from '../contract/operational-contract';

const LEVELS: AutonomyLevel[] = ['off', 'review-all', 'review-risky', 'autonomous'];

/**
 * The autonomy level for a proposal, from Unleash: the flag `<prefix><actionType>`, else the global
 * `<prefix>default`; its variant names the level. A disabled flag means `off`; no flag at all, or an
 * unknown variant, reads `unknown`, which the contract treats as the strictest (fail closed).
 */
export function autonomyLevel(flags: FlagReader, prefix: string, p: { actionType: string; tenant: string; region: string }): AutonomyLevel {
  const context = { actionType: p.actionType, tenant: p.tenant, region: p.region };
  for (const name of [`${prefix}${p.actionType}`, `${prefix}default`]) {
    const state = flags.state(name, context);
    if (state === 'unknown') continue;
    if (state === 'off') return 'off';
    const variant = flags.variant(name, context);
    if (variant === undefined) return 'autonomous';
    return (LEVELS as string[]).includes(variant) ? (variant as AutonomyLevel) : 'unknown';
  }
  return 'unknown';
}
