import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TreeHead } from '@countersign/audit-chain';
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
          return JSON.parse(readFileSync(join(dir, f), 'utf8')) as TreeHead;
        } catch {
          throw new Error(`the kept head ${f} does not parse`);
        }
      });
  }

  write(head: TreeHead): void {
    const file = join(this.dir, `${String(head.treeSize).padStart(14, '0')}-${head.timestamp.replace(/[:.]/g, '')}-${head.keyId}.json`);
    try {
      writeFileSync(file, `${JSON.stringify(head)}\n`, { flag: 'wx' });
      chmodSync(file, 0o444);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** The head store on the directory `dir` (created when missing). */
export const createFileHeadStore = (dir: string): FileHeadStore => new FileHeadStore(dir);
