import { existsSync } from 'node:fs';
import { parseFlagFile, readFlagFile } from '@countersign/flags';

/**
 * The contract's action types that have no kill switch (`<execPrefix><type>`) in the flag file. The default flag file is
 * written for a new home only, so a type added to the contract later has none, and a missing kill switch reads as off:
 * the type never executes, and nothing else says why. An unreadable or missing file gives none here: the flag reader
 * already reports it, and every type is stopped then anyway.
 */
export function missingKillSwitches(flagsFile: string, actionTypes: readonly string[], execPrefix: string): string[] {
  if (!existsSync(flagsFile)) return [];
  let names: Set<string>;
  try {
    names = new Set(parseFlagFile(readFlagFile(flagsFile)).features.map((f) => f.name));
  } catch {
    return [];
  }
  return actionTypes.filter((t) => !names.has(`${execPrefix}${t}`));
}

/** Warns once at start for each action type `missingKillSwitches` finds, naming how to switch it on. */
export function warnMissingKillSwitches(
  flagsFile: string,
  actionTypes: readonly string[],
  execPrefix: string,
  logger: { warn(fields: object, message: string): void },
): void {
  for (const type of missingKillSwitches(flagsFile, actionTypes, execPrefix))
    logger.warn(
      { actionType: type, flag: `${execPrefix}${type}`, file: flagsFile },
      `${type} has no kill switch in ${flagsFile} and does not execute: switch it on with a raise request ` +
        `(POST /v1/autonomy/${type}/raise-requests {"killSwitch": "on", …}) that a second admin approves`,
    );
}
