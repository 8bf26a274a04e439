import { executionFlagName, FlagReader } from '@countersign/flags';
import type { AutonomyLevel, FlagInput } from '@countersign/policy';

const LEVELS: AutonomyLevel[] = ['off', 'review-all', 'review-risky', 'autonomous'];

/** Flag names: kill switches `<execPrefix><actionType>`; autonomy `<autonomyPrefix><actionType>`, else `<autonomyPrefix>default`. */
export interface FlagNames {
  execPrefix: string;
  autonomyPrefix: string;
}

type Ctx = { actionType: string; tenant: string; region: string };

/** The global default's name in the autonomy flags (`<autonomyPrefix>default`): the ceiling of every type. */
export const DEFAULT_TYPE = 'default';

/**
 * The autonomy level from Unleash: the stricter of the action type's flag and the global default (`<prefix>default`),
 * each where it exists. The default is a ceiling: lowering it lowers every type, and a type's own flag can only be
 * stricter; a type above the others is made by lowering the others, not by a flag of its own (docs/adr/0014, amended
 * 2026-12-01: before, a type's flag replaced the default, so a flag created for one type undid a global lowering).
 * A flag's variant names the level: a disabled flag is `off`; an enabled one whose variant cannot be picked (none,
 * or only zero weights) or is unknown reads `unknown`, and so does no flag at all (fail closed).
 */
export function autonomyLevel(flags: FlagReader, prefix: string, p: Ctx): AutonomyLevel {
  const context = { actionType: p.actionType, tenant: p.tenant, region: p.region };
  const own = levelOf(flags, `${prefix}${p.actionType}`, context);
  const ceiling = levelOf(flags, `${prefix}${DEFAULT_TYPE}`, context);
  if (own === undefined) return ceiling ?? 'unknown';
  if (ceiling === undefined) return own;
  return LEVELS_STRICTEST_FIRST.find((l) => l === own || l === ceiling)!;
}

// `off` prohibits; `unknown` (a level that cannot be read) sends to review, as `review-all` does.
const LEVELS_STRICTEST_FIRST: AutonomyLevel[] = ['off', 'unknown', 'review-all', 'review-risky', 'autonomous'];

/** One autonomy flag's level, or undefined when there is no such flag. */
function levelOf(flags: FlagReader, name: string, context: Ctx): AutonomyLevel | undefined {
  const state = flags.state(name, context);
  if (state === 'unknown') return undefined;
  if (state === 'off') return 'off';
  const variant = flags.variant(name, context);
  return variant !== undefined && (LEVELS as string[]).includes(variant) ? (variant as AutonomyLevel) : 'unknown';
}

/** The action type's kill switch (on = may execute). */
export const killSwitch = (flags: FlagReader, prefix: string, p: Ctx): FlagInput =>
  flags.state(executionFlagName(prefix, p.actionType), { actionType: p.actionType, tenant: p.tenant, region: p.region });
