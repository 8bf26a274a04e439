import { closeSync, fstatSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InaccessibleFile, reading } from '@countersign/config';

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
    reading(file, () => {
      const fd = openSync(file, 'r');
      try {
        if (fstatSync(fd).isDirectory()) throw new InaccessibleFile(file, 'it is a directory');
      } finally {
        closeSync(fd);
      }
    });
  }
}
