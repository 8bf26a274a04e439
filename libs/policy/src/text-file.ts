import { readFileSync } from 'node:fs';
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

/**
 * A text file the policy tools read (a contract, a test table, a corpus), decoded as UTF-8 that must be valid. With
 * `readFileSync(path, 'utf8')` a bad byte becomes U+FFFD in silence, so the file checked would not be the file written.
 */
export function readUtf8File(path: string): string {
  const bytes = readFileSync(path);
  try {
    return utf8.decode(bytes);
  } catch {
    const byte = firstInvalidUtf8(bytes);
    let line = 1;
    for (let i = bytes.indexOf(10); i !== -1 && i < byte; i = bytes.indexOf(10, i + 1)) line++;
    throw new InvalidUtf8Error(path, byte, line);
  }
}
