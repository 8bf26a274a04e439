import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** An input that is not a regular file (a directory, a pipe, a device, a socket), or one over its size limit. */
export class InputFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: 'directory' | 'not-regular' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Opens `file` for reading if it is a regular file; throws `InputFileError` otherwise, and the open's own error when it
 * cannot be opened. Opened without blocking: a named pipe given where a file belongs blocked `open` until a writer came,
 * so a command hung with nothing said (operator CLI probe, 2026-12-06: `audit verify` on a FIFO in `heads/`). Regular
 * files read as ever.
 */
export function openRegularFile(file: string): number {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new InputFileError(file, 'directory', `${file} is a directory`);
    if (!stat.isFile()) throw new InputFileError(file, 'not-regular', `${file} is not a regular file (a device, a pipe or a socket): save it to a file`);
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * The bytes of the regular file `file`, at most `limit` of them (`InputFileError` past it, found before any is read): a
 * symbolic link to `/dev/zero` in place of a heads file grew the CLI until it aborted (operator CLI probe, 2026-12-06).
 */
export function readRegularFile(file: string, limit: number): Buffer {
  const fd = openRegularFile(file);
  try {
    const size = fstatSync(fd).size;
    if (size > limit) throw new InputFileError(file, 'too-large', `${file} is ${size} bytes, over the ${limit} bytes it may hold`);
    const bytes = Buffer.alloc(size);
    let at = 0;
    while (at < size) {
      const read = readSync(fd, bytes, at, size - at, at);
      if (read === 0) break;
      at += read;
    }
    return bytes.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}
