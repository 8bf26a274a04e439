import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TreeHead } from '@countersign/audit-chain';

/**
 * The second, append-only home of the tree heads, standing in for WORM storage: one file per head,
 * created exclusively (never overwritten) and made read-only. A whole replaced chain in the database
 * no longer matches the heads kept here.
 */
export class FileHeadStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
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
