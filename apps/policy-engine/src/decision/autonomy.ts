import { autonomyLevel, DEFAULT_AUTONOMY_TYPE, executionFlagName, FlagReader } from '@countersign/flags';
import type { FlagInput } from '@countersign/policy';

/** Flag names: kill switches `<execPrefix><actionType>`; autonomy `<autonomyPrefix><actionType>`, else `<autonomyPrefix>default`. */
export interface FlagNames {
  execPrefix: string;
  autonomyPrefix: string;
}

type Ctx = { actionType: string; tenant: string; region: string };

/** The global default's name in the autonomy flags (`<autonomyPrefix>default`): the ceiling of every type. */
export const DEFAULT_TYPE = DEFAULT_AUTONOMY_TYPE;

/** The autonomy level from the flags (libs/platform/flags: the executor reads it too). */
export { autonomyLevel };

/** The action type's kill switch (on = may execute). */
export const killSwitch = (flags: FlagReader, prefix: string, p: Ctx): FlagInput =>
  flags.state(executionFlagName(prefix, p.actionType), { actionType: p.actionType, tenant: p.tenant, region: p.region });
