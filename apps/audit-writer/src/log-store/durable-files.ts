import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

/** Writes all of `bytes` at the file's position (one `writeSync` may write fewer). */
export function writeAll(fd: number, bytes: Buffer): void {
  for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
}

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
