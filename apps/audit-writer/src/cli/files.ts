import { closeSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InaccessibleFile, reading } from '@countersign/config';
import { InputFileError, openRegularFile, readRegularFile } from '@countersign/keys';

/**
 * That what `--keys` (a file, or a directory of `.json` files) or `--heads-dir` (a directory of `.json` files) names can
 * be read: every file it stands for opens for reading. Checked before they are read, because their readers say only
 * "cannot be read" or "does not parse", which reads like a problem found in the log.
 */
export function checkReadable(path: string, takes: 'file or directory' | 'directory'): void {
  const directory = reading(path, () => statSync(path).isDirectory());
  if (!directory && takes === 'directory') throw new InaccessibleFile(path, 'it is not a directory');
  const files = directory
    ? reading(path, () => readdirSync(path))
        .filter((f) => f.endsWith('.json'))
        .map((f) => join(path, f))
    : [path];
  for (const file of files) {
    // A regular file: a pipe among the keys or heads hung the command that read it (operator CLI probe, 2026-12-06).
    closeSync(openInput(file));
  }
}

/**
 * An input of a command (a log, a segment, a heads file, a kept head) opened if it is a regular file: a directory, a
 * pipe or a device is named as such, never waited on (operator CLI probe, 2026-12-06: a FIFO in place of a file hung
 * `audit verify`; a link to /dev/zero in place of the heads file grew it until it aborted).
 */
export function openInput(file: string): number {
  return reading(file, () => asInaccessible(file, () => openRegularFile(file)));
}

/** An input's bytes, at most `limit` of them: past that it is refused before any is read. */
export function readInput(file: string, limit: number): Buffer {
  return reading(file, () => asInaccessible(file, () => readRegularFile(file, limit)));
}

function asInaccessible<T>(file: string, work: () => T): T {
  try {
    return work();
  } catch (e) {
    if (!(e instanceof InputFileError)) throw e;
    if (e.reason === 'too-large') throw new Error(e.message);
    throw new InaccessibleFile(
      file,
      e.reason === 'directory' ? 'it is a directory' : 'it is not a regular file (a device, a pipe or a socket): save it to a file',
    );
  }
}
