import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { currentKey, KeyWindow, loadSigningKeys, loadVerifyKeys, SigningKey, VerifyKey } from '@countersign/keys';
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

/**
 * A signing keys file beside the verify keys file of the service that checks what it signs (`approval-signing` and
 * `approval-verify`): the key that signs now must be listed in the verify file, with its public half, or every signature
 * is refused there, audited as a forgery, while both files look fine alone (trust probe, 2026-12-05: the review queue
 * signed with `approvals-B`, the executor's file listed only `approvals-A`, and approved actions never ran, with no word
 * to the operator). `missing` for the key signing now; `rotation-due` for a listed successor the verify file lacks.
 * Unreadable files are their own sources' findings: nothing is said here then.
 */
export class KeyPairingSource implements TrustSource {
  readonly name: string;

  constructor(
    private readonly signing: WatchedKeyFile,
    private readonly verifying: WatchedKeyFile,
  ) {
    this.name = `${verifying.owner} ${verifying.purpose} lists ${signing.owner}'s keys (${verifying.file})`;
  }

  check(now: Date): TrustFinding[] {
    let signers: SigningKey[];
    let verifiers: VerifyKey[];
    try {
      signers = loadSigningKeys(this.signing.file);
      verifiers = loadVerifyKeys(this.verifying.file);
    } catch {
      return [];
    }
    const { owner, file } = this.verifying;
    // A finding of its own beside the verify file's (`approval-verify-lists-signer`): that one says the file's keys are valid.
    const purpose = `${this.verifying.purpose}-lists-signer`;
    const finding = (f: Pick<TrustFinding, 'status' | 'reason'> & Partial<TrustFinding>): TrustFinding[] => [
      { kind: 'verify-key', owner, purpose, source: file, ...f, reason: f.reason.slice(0, 2000) },
    ];
    const listed = (k: SigningKey) => verifiers.some((v) => v.keyId === k.keyId && v.publicKey.equals(createPublicKey(k.privateKey)));
    const current = currentKey(signers, now);
    if (current && !listed(current))
      return finding({
        status: 'missing',
        keyId: current.keyId,
        notAfter: current.notAfter.toISOString(),
        reason: `${file} does not list ${current.keyId} (or lists another key under its id), the key ${this.signing.owner} signs with now: ${owner} refuses all it signs; list its public key there`,
      });
    const successor = signers.find((k) => k !== current && k.notAfter.getTime() > now.getTime() && !listed(k));
    if (successor)
      return finding({
        status: 'rotation-due',
        keyId: successor.keyId,
        notAfter: successor.notAfter.toISOString(),
        reason: `${file} does not list ${successor.keyId}, which ${this.signing.owner} signs with from ${successor.notBefore.toISOString()}: list its public key there before then`,
      });
    return current
      ? finding({ status: 'ok', keyId: current.keyId, notAfter: current.notAfter.toISOString(), reason: `${file} lists ${current.keyId}, the key signing now` })
      : [];
  }
}

/** The verify files paired with the signing files whose keys they check: `<x>-signing` with each `<x>-verify`. */
export function keyPairings(files: readonly WatchedKeyFile[]): KeyPairingSource[] {
  return files.flatMap((signing) =>
    signing.kind === 'signing-key' && signing.purpose.endsWith('-signing')
      ? files
          .filter((v) => v.kind === 'verify-key' && v.purpose === `${signing.purpose.slice(0, -'-signing'.length)}-verify`)
          .map((v) => new KeyPairingSource(signing, v))
      : [],
  );
}
