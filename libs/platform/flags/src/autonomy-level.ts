import type { AutonomyLevel } from '@countersign/policy';
import type { FlagReader } from './flag-reader';

const LEVELS: AutonomyLevel[] = ['off', 'review-all', 'review-risky', 'autonomous'];

// `off` prohibits; `unknown` (a level that cannot be read) sends to review, as `review-all` does.
const LEVELS_STRICTEST_FIRST: AutonomyLevel[] = ['off', 'unknown', 'review-all', 'review-risky', 'autonomous'];

/** The global default's name in the autonomy flags (`<autonomyPrefix>default`): the ceiling of every type. */
export const DEFAULT_AUTONOMY_TYPE = 'default';

type Ctx = { actionType: string; tenant: string; region: string };

/**
 * The autonomy level from the flags: the stricter of the action type's flag and the global default (`<prefix>default`),
 * each where it exists. The default is a ceiling: lowering it lowers every type, and a type's own flag can only be
 * stricter; a type above the others is made by lowering the others, not by a flag of its own (docs/adr/0014, amended
 * 2026-12-01: before, a type's flag replaced the default, so a flag created for one type undid a global lowering).
 * A flag's variant names the level: a disabled flag is `off`; an enabled one whose variant cannot be picked (none,
 * or only zero weights) or is unknown reads `unknown`, and so does no flag at all (fail closed). Read by the policy
 * engine when it decides, and by the executor before it runs an autonomous decision (a lowering since stops it).
 */
export function autonomyLevel(flags: FlagReader, prefix: string, p: Ctx): AutonomyLevel {
  const context = { actionType: p.actionType, tenant: p.tenant, region: p.region };
  const own = levelOf(flags, `${prefix}${p.actionType}`, context);
  const ceiling = levelOf(flags, `${prefix}${DEFAULT_AUTONOMY_TYPE}`, context);
  if (own === undefined) return ceiling ?? 'unknown';
  if (ceiling === undefined) return own;
  return LEVELS_STRICTEST_FIRST.find((l) => l === own || l === ceiling)!;
}

/** One autonomy flag's level, or undefined when there is no such flag. */
function levelOf(flags: FlagReader, name: string, context: Ctx): AutonomyLevel | undefined {
  const state = flags.state(name, context);
  if (state === 'unknown') return undefined;
  if (state === 'off') return 'off';
  const variant = flags.variant(name, context);
  return variant !== undefined && (LEVELS as string[]).includes(variant) ? (variant as AutonomyLevel) : 'unknown';
}
