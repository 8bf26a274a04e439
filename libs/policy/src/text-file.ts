import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { firstInvalidUtf8 } from '@countersign/contracts';

/** A file that is not valid UTF-8: where its first bad byte is (0-based offset, 1-based line). */
export class InvalidUtf8Error extends Error {
  constructor(
    readonly file: string,
    readonly byte: number,
    readonly line: number,
  ) {
    super(`${file}:${line}: invalid UTF-8 at byte ${byte}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The most a policy file may hold: the shipped contract is about 30 KB and its test table 100 KB. */
export const MAX_POLICY_FILE_BYTES = 16 * 1024 * 1024;

/** A file over `MAX_POLICY_FILE_BYTES`, or one without an end (`/dev/zero`, an endless pipe). */
export class PolicyFileTooLargeError extends Error {
  constructor(readonly file: string) {
    super(`${file} holds more than ${MAX_POLICY_FILE_BYTES} bytes, the most a policy file may: it is not read`);
  }
}

/**
 * A text file the policy tools read (a contract, a test table, a corpus), decoded as UTF-8 that must be valid. With
 * `readFileSync(path, 'utf8')` a bad byte becomes U+FFFD in silence, so the file checked would not be the file written.
 * Read up to `MAX_POLICY_FILE_BYTES` and no further, whatever the file is (a device or a pipe has no size to check
 * first): `policy lint /dev/zero` took 1.9 GB until it was killed (red team, 2026-12-04).
 */
export function readUtf8File(path: string): string {
  const bytes = readAtMost(path, MAX_POLICY_FILE_BYTES);
  try {
    return utf8.decode(bytes);
  } catch {
    const byte = firstInvalidUtf8(bytes);
    let line = 1;
    for (let i = bytes.indexOf(10); i !== -1 && i < byte; i = bytes.indexOf(10, i + 1)) line++;
    throw new InvalidUtf8Error(path, byte, line);
  }
}

/** A policy file that is a named pipe or a socket: nothing says when it ends or whether anything will write it. */
export class PolicyFileNotRegularError extends Error {
  constructor(readonly file: string) {
    super(`${file} is a named pipe or a socket, not a file: save it to a file`);
  }
}

/**
 * The file's bytes, read in chunks; more than `limit` of them is an error, found without reading further. Opened without
 * blocking: a named pipe with no writer held `open` for ever, so `policy lint` hung with nothing said (red team,
 * 2026-12-07); a pipe or a socket is refused, a device is read as before (`/dev/zero` is found too large).
 */
function readAtMost(path: string, limit: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (stat.isFIFO() || stat.isSocket()) throw new PolicyFileNotRegularError(path);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) return Buffer.concat(chunks, total);
      total += read;
      if (total > limit) throw new PolicyFileTooLargeError(path);
      chunks.push(read === chunk.length ? chunk : chunk.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
}
