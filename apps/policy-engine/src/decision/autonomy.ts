import { executionFlagName, FlagReader } from '@countersign/flags';
import type { AutonomyLevel, FlagInput } from '@countersign/policy';

const LEVELS: AutonomyLevel[] = ['off', 'review-all', 'review-risky', 'autonomous'];

/** Flag names: kill switches `<execPrefix><actionType>`; autonomy `<autonomyPrefix><actionType>`, else `<autonomyPrefix>default`. */
export interface FlagNames {
  execPrefix: string;
  autonomyPrefix: string;
}

type Ctx = { actionType: string; tenant: string; region: string };

/**
 * The autonomy level from Unleash: the action type's flag, else the global default; its variant names the
 * level. A disabled flag means `off`; no flag at all, or an unknown variant, reads `unknown` (fail closed).
 */
export function autonomyLevel(flags: FlagReader, prefix: string, p: Ctx): AutonomyLevel {
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

/** The action type's kill switch (on = may execute). */
export const killSwitch = (flags: FlagReader, prefix: string, p: Ctx): FlagInput =>
  flags.state(executionFlagName(prefix, p.actionType), { actionType: p.actionType, tenant: p.tenant, region: p.region });
