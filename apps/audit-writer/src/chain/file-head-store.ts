import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TreeHead } from '@countersign/audit-chain';
import { readRegularFile } from '@countersign/keys';
import { syncDirectory, writeAll } from '../log-store/durable-files';
import type { HeadStore } from './head-store';

/**
 * The second, append-only home of the tree heads, standing in for WORM storage: one file per head,
 * created exclusively (never overwritten) and made read-only. A whole replaced chain in the database
 * no longer matches the heads kept here.
 */
export class FileHeadStore implements HeadStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /**
   * The heads kept in the directory `dir`, read without creating it (a mistyped directory is an error, not an empty
   * store). A file that does not parse is an error naming it.
   */
  static read(dir: string): TreeHead[] {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => {
        try {
          // A regular file of a head's size: a pipe or a link to a device here hung or exhausted its reader (CLI probe).
          return JSON.parse(readRegularFile(join(dir, f), 64 * 1024).toString('utf8')) as TreeHead;
        } catch {
          throw new Error(`the kept head ${f} does not parse`);
        }
      });
  }

  /** The name of the file that keeps `head`: its size first, so the names sort by it. */
  static fileName(head: TreeHead): string {
    return `${String(head.treeSize).padStart(14, '0')}-${head.timestamp.replace(/[:.]/g, '')}-${head.keyId}.json`;
  }

  /**
   * On disk before it returns (the file, then its name in the directory): a power loss right after leaves the head
   * kept whole, not an empty file that the next start reads as tampering.
   */
  write(head: TreeHead): void {
    const file = join(this.dir, FileHeadStore.fileName(head));
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o444);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
      throw e;
    }
    try {
      const bytes = Buffer.from(`${JSON.stringify(head)}\n`);
      writeAll(fd, bytes);
      fsyncSync(fd);
    } catch (e) {
      // Not left half written: a second write would find the name taken and take the head for kept.
      closeSync(fd);
      rmSync(file, { force: true });
      throw e;
    }
    closeSync(fd);
    chmodSync(file, 0o444);
    syncDirectory(this.dir);
  }
}

/** The head store on the directory `dir` (created when missing). */
export const createFileHeadStore = (dir: string): FileHeadStore => new FileHeadStore(dir);
