import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';

/**
 * Writes `file` so that a reader sees the old content or the new, never a part: a temporary file beside it (same
 * directory, same file system) is written, flushed to disk and renamed over it. The temporary file is removed when
 * anything fails, and the old file is then untouched.
 */
export async function writeFileAtomically(file: string, data: string | Buffer, mode = 0o644): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}
