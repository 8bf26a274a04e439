/** DI tokens of the policy engine's ports. */
export const FLAGS = Symbol('FlagReader');
export const AUTONOMY_PREFIX = Symbol('AutonomyFlagPrefix');
export const CONTRACT_PATH = Symbol('ContractPath');
