import { closeSync, fsyncSync, openSync } from 'node:fs';

/**
 * Makes the names in `dir` durable (a file created, renamed or removed there). Where a directory cannot be opened for
 * that (Windows), the file system's own ordering is all there is.
 */
export function syncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (e) {
    if (['EISDIR', 'EPERM', 'EACCES'].includes((e as NodeJS.ErrnoException).code ?? '')) return;
    throw e;
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    if (!['EINVAL', 'EPERM', 'EBADF'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    closeSync(fd);
  }
}
