import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { currentKey, KeyWindow, loadSigningKeys, loadVerifyKeys } from '@countersign/keys';
import { z } from 'zod';
import type { TrustFinding, TrustSource } from './trust-source';

/** A keys file the trust monitor watches: whose it is, what for, and whether it lists signing or verify keys. */
export interface WatchedKeyFile {
  kind: 'signing-key' | 'verify-key';
  /** The service that reads it (`review-queue`, `executor`, `audit-writer`). */
  owner: string;
  /** What its keys do (`approval-signing`, `approval-verify`, `audit-tree-head`). */
  purpose: string;
  /** The keys file (a verify keys directory too). */
  file: string;
}

/** The `TRUST_KEY_FILES` setting: the key files of other services the monitor watches. */
export const WatchedKeyFiles = z.array(
  z.strictObject({
    kind: z.enum(['signing-key', 'verify-key']),
    owner: z.string().min(1).max(200),
    purpose: z.string().min(1).max(200),
    file: z.string().min(1).max(1000),
  }),
);

/**
 * One keys file, read afresh at every check with the loader its service uses (`@countersign/keys`), so what the
 * monitor finds is what that service would load: `missing` (no file), `unreadable` (not keys: names the entry and
 * field), `expired` (no key valid now), `rotation-due` (the current key ends within `warnMs` and no key takes over
 * at or before its end), or `ok`. The keys themselves are dropped at once: only ids and windows are reported.
 */
export class KeyFileSource implements TrustSource {
  readonly name: string;

  constructor(
    private readonly watched: WatchedKeyFile,
    private readonly warnMs: number,
  ) {
    this.name = `${watched.owner} ${watched.purpose} (${watched.file})`;
  }

  check(now: Date): TrustFinding[] {
    const { kind, owner, purpose, file } = this.watched;
    const finding = (f: Pick<TrustFinding, 'status' | 'reason'> & Partial<TrustFinding>): TrustFinding[] => [
      { kind, owner, purpose, source: file, ...f, reason: f.reason.slice(0, 2000) },
    ];
    try {
      statSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return finding({ status: code === 'ENOENT' ? 'missing' : 'unreadable', reason: `${file}: ${code === 'ENOENT' ? 'no such file' : 'cannot be read'}` });
    }
    let keys: KeyWindow[];
    try {
      keys = kind === 'signing-key' ? loadSigningKeys(file) : loadVerifyKeys(file);
    } catch (e) {
      return finding({ status: 'unreadable', reason: (e as Error).message });
    }
    return keyFindings(keys, now, this.warnMs, finding, file);
  }
}

type Emit = (f: Pick<TrustFinding, 'status' | 'reason'> & Partial<TrustFinding>) => TrustFinding[];

/** The finding for one list of keys at `now`: `expired` without a valid key, `rotation-due` without a successor in time, else `ok`. */
function keyFindings(keys: readonly KeyWindow[], now: Date, warnMs: number, finding: Emit, file: string): TrustFinding[] {
  const key = currentKey(keys, now);
  if (!key) {
    const newest = [...keys].sort((a, b) => b.notAfter.getTime() - a.notAfter.getTime())[0];
    if (!newest) return finding({ status: 'expired', reason: `${file} lists no key` });
    const why =
      newest.notAfter.getTime() <= now.getTime()
        ? `no key is valid now: the newest, ${newest.keyId}, expired ${newest.notAfter.toISOString()}`
        : `no key is valid now: ${newest.keyId} begins ${newest.notBefore.toISOString()}`;
    return finding({ status: 'expired', keyId: newest.keyId, notAfter: newest.notAfter.toISOString(), reason: why });
  }
  const notAfter = key.notAfter.toISOString();
  // A successor takes over without a gap: valid no later than the current key's end, and valid after it.
  const successor = keys.find((k) => k !== key && k.notBefore.getTime() <= key.notAfter.getTime() && k.notAfter.getTime() > key.notAfter.getTime());
  if (key.notAfter.getTime() - now.getTime() <= warnMs && !successor)
    return finding({
      status: 'rotation-due',
      keyId: key.keyId,
      notAfter,
      reason: `${key.keyId} expires ${notAfter} and no key takes over: rotate it (list the next key beside it)`,
    });
  return finding({
    status: 'ok',
    keyId: key.keyId,
    notAfter,
    reason: `${key.keyId} is valid until ${notAfter}${successor ? `; ${successor.keyId} takes over` : ''}`,
  });
}

/**
 * Keys held in memory rather than read from a file (the embedded mode reads its keys once, at start): the same checks
 * as a keys file, on what `keys()` returns at each check. With `file`, the file the keys were read from is checked too,
 * against its SHA-256 at start: a key file removed or written over while the instance runs is `missing` or
 * `unreadable` at once, not news at the next start, which refuses the home (trust probe, 2026-12-05: `/readyz` stayed
 * ready and approvals went on being signed with `keys/approvals.key` gone).
 */
export class KeyListSource implements TrustSource {
  readonly name: string;

  constructor(
    private readonly watched: Omit<WatchedKeyFile, 'file'> & { label: string },
    private readonly keys: () => readonly KeyWindow[],
    private readonly warnMs: number,
    private readonly file?: { path: string; sha256: string },
  ) {
    this.name = `${watched.owner} ${watched.purpose} (${watched.label})`;
  }

  check(now: Date): TrustFinding[] {
    const { kind, owner, purpose, label } = this.watched;
    const finding: Emit = (f) => [{ kind, owner, purpose, source: label, ...f, reason: f.reason.slice(0, 2000) }];
    if (this.file) {
      const { path, sha256 } = this.file;
      let text: Buffer;
      try {
        text = readFileSync(path);
      } catch (e) {
        const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
        return finding({
          status: missing ? 'missing' : 'unreadable',
          reason: `${path}: ${missing ? 'no such file' : 'cannot be read'}; this instance still holds the key it read at start, and its next start is refused until the file is restored`,
        });
      }
      if (createHash('sha256').update(text).digest('hex') !== sha256)
        return finding({
          status: 'unreadable',
          reason: `${path} is not the key this instance started with (its SHA-256 differs): restore it; its next start is refused as it is`,
        });
    }
    return keyFindings(this.keys(), now, this.warnMs, finding, label);
  }
}
