export * from './flag-reader';
export { createUnleashFlagReader } from './unleash-flags';
export type { UnleashFlagOptions } from './unleash-flags';
export { createFileFlagReader, parseFlagFile, readFlagFile } from './file-flags';
export type { FileFlagOptions, FlagFile } from './file-flags';
export { flagHealthData, reportFlagHealth } from './flag-health';
export type { FlagHealthReport } from './flag-health';
export { AUTONOMY_LEVELS, FlagControls, isControlValue, isLooser, stricterOf, withFlagControls } from './flag-control';
export type { ControlKind, ControlledLevel, ControlValue, FlagControl } from './flag-control';
