/**
 * A file a command or a setting names that cannot be read (missing, a directory, no permission) or written. In the
 * command-line tools that is bad usage (exit 2), not a finding: the message names the file and says why in plain words,
 * never the system's error text.
 */
export class InaccessibleFile extends Error {
  constructor(
    readonly file: string,
    readonly why: string,
    readonly action: 'read' | 'write' = 'read',
  ) {
    super(`cannot ${action} ${file}: ${why}`);
  }
}

/** The system's error codes a person meets with a file, in plain words. */
const WHY: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of its path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many files are open',
  ENFILE: 'too many files are open',
  EIO: 'an input/output error',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
};

/** The code of an error from the file system (`ENOENT`, …), if it is one. */
const codeOf = (e: unknown): string | undefined => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
};

/**
 * Runs `work`, which reads `file`; an error of the file system becomes an `InaccessibleFile` naming `file`. Named here,
 * not from the error: a read of a directory fails with no path in the error at all.
 */
export function reading<T>(file: string, work: () => T): T {
  try {
    return work();
  } catch (e) {
    const code = codeOf(e);
    if (code) throw new InaccessibleFile(file, WHY[code] ?? `the system refused it (${code})`);
    throw e;
  }
}

/** As `reading`, for a file a command writes (`policy test --json`, `audit export --out`): a missing directory is named as such. */
export function writing<T>(file: string, work: () => T): T {
  try {
    return work();
  } catch (e) {
    const code = codeOf(e);
    if (code) throw new InaccessibleFile(file, code === 'ENOENT' ? 'no such directory' : (WHY[code] ?? `the system refused it (${code})`), 'write');
    throw e;
  }
}

/**
 * The text of a regular file, read without blocking: a named pipe in its place would hold the process on `open` or
 * `read` for good (red team, 2026-12-07: a FIFO as tokens.json froze every request, `/healthz` included, until a signal),
 * and a device would never end. Anything but a regular file throws with the code `ENOTREG`; a file over `maxBytes` is
 * refused before it is read (`EFBIG`, with its `size`), so a huge one costs nothing but a `stat`.
 */
export function readRegularFile(path: string, maxBytes = 1024 * 1024): Buffer {
  const { closeSync, constants, fstatSync, openSync, readFileSync } = require('node:fs') as typeof import('node:fs');
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTREG' });
    if (stat.size > maxBytes)
      throw Object.assign(new Error(`${path} is ${stat.size} bytes, over the ${maxBytes}-byte limit`), { code: 'EFBIG', size: stat.size });
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
