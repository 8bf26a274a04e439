/**
 * Countersign's signing keys, one shape for every kind: Ed25519 keys with an id and a validity window, listed in
 * JSON keys files `[{keyId, privateKeyFile | publicKeyPem, notBefore, notAfter}]` and read by one loader. The
 * review queue's decision keys (`@countersign/approval`) and the audit log's tree-head keys
 * (`@countersign/audit-chain`) both use it; neither depends on the other. Framework-free (node:crypto, node:fs).
 * @packageDocumentation
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputFileError, readRegularFile } from './input-file';

/** A key's id and validity window: it signs, and what it signed is accepted, from `notBefore` until `notAfter` (its rotation deadline). */
export interface KeyWindow {
  keyId: string;
  notBefore: Date;
  notAfter: Date;
}

/** A private key that signs within its window. */
export interface SigningKey extends KeyWindow {
  privateKey: KeyObject;
}

/** A public key that accepts what was signed within its window. */
export interface VerifyKey extends KeyWindow {
  publicKey: KeyObject;
}

/**
 * One key as a keys file lists it: `privateKeyFile` (a PKCS #8 PEM file) for a signer, `publicKeyPem` (SPKI PEM)
 * for a verifier; `notBefore` and `notAfter` are ISO 8601 date-times.
 */
export interface KeyFileEntry {
  keyId: string;
  privateKeyFile?: string;
  publicKeyPem?: string;
  notBefore: string;
  notAfter: string;
}

/** A keys file that cannot be read as keys: names the file, the entry and the field. */
export class KeyFileError extends Error {}

/** The window of a key generated for a test or for one run of the embedded mode: always valid. */
export const ALWAYS: Readonly<Pick<KeyWindow, 'notBefore' | 'notAfter'>> = { notBefore: new Date(0), notAfter: new Date('9999-12-31T23:59:59.999Z') };

/**
 * An Ed25519 signature as the signers write it: 64 bytes in unpadded base64url, 86 characters, the last one's unused
 * bits zero. Node's decoder skips what is not base64url and padding, so `sig!!` or `sig=` verified as `sig` (trust
 * probe, 2026-12-05): a token could be changed without breaking it. Every verifier of a `cs1`, `cf1` or `ccs1` token
 * tests the text with this before it verifies.
 */
export const ED25519_SIGNATURE = /^[A-Za-z0-9_-]{85}[AQgw]$/;

/** Whether `key` may sign (or its signature be accepted) at `at`: `notBefore ≤ at < notAfter`. */
export function validAt(key: KeyWindow, at: Date): boolean {
  return key.notBefore.getTime() <= at.getTime() && at.getTime() < key.notAfter.getTime();
}

/** The key that signs at `now`: the newest (latest `notBefore`) valid one, so an overlapping next key takes over without a gap. */
export function currentKey<K extends KeyWindow>(keys: readonly K[], now: Date): K | undefined {
  return keys.filter((k) => validAt(k, now)).sort((a, b) => b.notBefore.getTime() - a.notBefore.getTime())[0];
}

export const signingKeyFromPem = (keyId: string, pem: string, notBefore: Date, notAfter: Date): SigningKey => ({
  keyId,
  privateKey: createPrivateKey(pem),
  notBefore,
  notAfter,
});
export const verifyKeyFromPem = (keyId: string, pem: string, notBefore: Date, notAfter: Date): VerifyKey => ({
  keyId,
  publicKey: createPublicKey(pem),
  notBefore,
  notAfter,
});

/** The public side of a signing key, with the same id and window. */
export const verifyKeyOf = (key: SigningKey): VerifyKey => ({
  keyId: key.keyId,
  publicKey: createPublicKey(key.privateKey),
  notBefore: key.notBefore,
  notAfter: key.notAfter,
});

/**
 * A new key pair (Ed25519, or RSA-2048 for a JWT signer such as the local identity provider), as key objects and as PEM
 * (PKCS #8, SPKI). The one way the project makes a key: it is generated as PEM and read back into key objects of their
 * own, because exporting the key objects a generation returned can deadlock Node 20 for good. A GC during the export
 * collects the finished generation job, whose destructor locks the key that the export holds (a clean clone's unit run
 * hung on it, 2026-12-06: `KeyGenJob::~KeyGenJob` under `KeyObjectHandle::ExportJWK`).
 */
export function newKeyPair(type: 'ed25519' | 'rsa' = 'ed25519') {
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const { privateKey, publicKey }: { privateKey: string; publicKey: string } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding, publicKeyEncoding })
      : generateKeyPairSync('ed25519', { privateKeyEncoding, publicKeyEncoding });
  return { privateKey: createPrivateKey(privateKey), publicKey: createPublicKey(publicKey), privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/** A new Ed25519 key with its window, and its PEM forms for storage (`privateKeyPem` for a `privateKeyFile`). */
export function generateKey(keyId: string, window: Pick<KeyWindow, 'notBefore' | 'notAfter'> = ALWAYS) {
  const { privateKey, publicKey, privateKeyPem, publicKeyPem } = newKeyPair();
  const key: SigningKey = { keyId, privateKey, notBefore: window.notBefore, notAfter: window.notAfter };
  return { key, verifyKey: { keyId, publicKey, notBefore: window.notBefore, notAfter: window.notAfter } as VerifyKey, privateKeyPem, publicKeyPem };
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The entries of one keys file (an array of entries, or one entry where `single` allows it), checked field by field. */
function readEntries(file: string, need: 'privateKeyFile' | 'publicKeyPem', single: boolean): Array<KeyFileEntry & { at: string }> {
  let parsed: unknown;
  try {
    // A regular file of a keys file's size: a pipe hung its reader, a link to a device exhausted it (CLI probe).
    parsed = JSON.parse(readRegularFile(file, 1024 * 1024).toString('utf8'));
  } catch (e) {
    if (e instanceof InputFileError) throw new KeyFileError(e.message);
    throw new KeyFileError(`${file}: ${(e as NodeJS.ErrnoException).code ? 'cannot be read' : 'is not JSON'}`);
  }
  const list = Array.isArray(parsed) ? parsed : single && parsed !== null && typeof parsed === 'object' ? [parsed] : undefined;
  if (!list) throw new KeyFileError(`${file}: expected an array of keys [{keyId, ${need}, notBefore, notAfter}]`);
  // A signer without a key could sign nothing; a verifier without one accepts nothing (fails closed), as before.
  if (!list.length && need === 'privateKeyFile') throw new KeyFileError(`${file}: lists no key`);
  return list.map((raw: Record<string, unknown>, i) => {
    const at = Array.isArray(parsed) ? `${i}.` : '';
    // `publicPem` is how the audit CLI's key files spelled it before the shapes were one: still read.
    const entry = need === 'publicKeyPem' && raw?.publicKeyPem === undefined ? { ...raw, publicKeyPem: raw?.publicPem } : raw;
    for (const field of ['keyId', need] as const) {
      if (typeof entry?.[field] !== 'string' || entry[field] === '') throw new KeyFileError(`${file}: ${at}${field}: required`);
    }
    for (const field of ['notBefore', 'notAfter'] as const) {
      const v = entry[field];
      if (typeof v !== 'string' || !DATE_TIME.test(v) || Number.isNaN(Date.parse(v)))
        throw new KeyFileError(`${file}: ${at}${field}: an ISO 8601 date-time with offset`);
    }
    if (!(Date.parse(entry.notBefore as string) < Date.parse(entry.notAfter as string)))
      throw new KeyFileError(`${file}: ${at}notAfter: must be after notBefore`);
    return { ...(entry as unknown as KeyFileEntry), at: `${file}: ${at}` };
  });
}

/** Signing keys from a keys file `[{keyId, privateKeyFile, notBefore, notAfter}]` (each private key a PEM file of its own). */
export function loadSigningKeys(file: string): SigningKey[] {
  return readEntries(file, 'privateKeyFile', false).map((e) => {
    let pem: string;
    try {
      pem = readFileSync(e.privateKeyFile!, 'utf8');
    } catch {
      throw new KeyFileError(`${e.at}privateKeyFile: cannot read ${e.privateKeyFile}`);
    }
    return signingKeyFromPem(e.keyId, pem, new Date(e.notBefore), new Date(e.notAfter));
  });
}

/**
 * Verify keys from a keys file `[{keyId, publicKeyPem, notBefore, notAfter}]` (one entry alone is read too), or from
 * a directory of such `.json` files (the embedded mode writes one per key).
 */
export function loadVerifyKeys(path: string): VerifyKey[] {
  const files = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((f) => f.endsWith('.json'))
        .map((f) => join(path, f))
    : [path];
  return files.flatMap((f) =>
    readEntries(f, 'publicKeyPem', true).map((e) => verifyKeyFromPem(e.keyId, e.publicKeyPem!, new Date(e.notBefore), new Date(e.notAfter))),
  );
}

/** The entry a verifier's keys file lists for `key` (what `loadVerifyKeys` reads back). */
export const verifyKeyEntry = (key: VerifyKey | SigningKey): KeyFileEntry => ({
  keyId: key.keyId,
  publicKeyPem: ('publicKey' in key ? key.publicKey : createPublicKey(key.privateKey)).export({ type: 'spki', format: 'pem' }).toString(),
  notBefore: key.notBefore.toISOString(),
  notAfter: key.notAfter.toISOString(),
});

/** Keys as a list, or a watched keys file (`KeyFileWatcher`: a rotation needs no restart). */
export type KeyList<K extends KeyWindow> = readonly K[] | { keys(): readonly K[]; lookAgain?(): readonly K[] };

/**
 * The key of `keys` that `kid` names, if any. A watched file is looked at again at once when none of the keys it held
 * has that id: a rotation lists the new key in the verifiers' file before its signer uses it, so an id never seen may be
 * one added since the last look (up to `checkMs` ago). Refused, a trust verdict sealed with it left the policy engine
 * failing closed until the monitor's next report, 30 s later (trust stack test, 2026-12-07). A key id that is still
 * unknown costs one `stat` of the file: only a file that changed is read again.
 */
export function keyById<K extends KeyWindow & { keyId: string }>(keys: KeyList<K>, kid: unknown): K | undefined {
  if (typeof kid !== 'string') return undefined;
  if (Array.isArray(keys)) return (keys as readonly K[]).find((k) => k.keyId === kid);
  const source = keys as Exclude<KeyList<K>, readonly K[]>;
  return source.keys().find((k) => k.keyId === kid) ?? source.lookAgain?.().find((k) => k.keyId === kid);
}

/**
 * A keys file read again whenever it changes, so a rotation is a new file content and no restart: `keys()` looks at
 * the file (its size, time and inode) at most every `checkMs` and reads it again when it changed. A file that cannot
 * be read as keys (half written, removed) leaves the keys read last in place — their own windows still bound what they
 * sign or accept — and is named by `error()`; the trust monitor reports it (ADR 0019). A file unreadable at the start
 * throws, as the loaders do: a service does not boot without its keys.
 */
export class KeyFileWatcher<K extends KeyWindow> {
  private current: K[];
  private seen: string;
  private checkedAt: number;
  private failure?: string;

  constructor(
    private readonly file: string,
    private readonly load: (file: string) => K[],
    private readonly checkMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {
    this.seen = this.fingerprint();
    this.current = load(file);
    this.checkedAt = now();
  }

  /** The keys as the file lists them now (read again if it changed since the last look). */
  keys(): K[] {
    if (this.now() - this.checkedAt >= this.checkMs) this.refresh();
    return this.current;
  }

  /** Why the file's latest content could not be used (the keys read before stay in place), if it could not. */
  error(): string | undefined {
    return this.failure;
  }

  /** Looks at the file now, whatever `checkMs` says, and returns its keys (`keyById`: a key id no key held has). */
  lookAgain(): K[] {
    this.refresh();
    return this.current;
  }

  /** Looks at the file now, whatever `checkMs` says. */
  refresh(): void {
    this.checkedAt = this.now();
    let print: string;
    try {
      print = this.fingerprint();
    } catch {
      this.failure = `${this.file}: cannot be read`;
      return;
    }
    if (print === this.seen && !this.failure) return;
    try {
      this.current = this.load(this.file);
      this.seen = print;
      this.failure = undefined;
    } catch (e) {
      this.failure = (e as Error).message;
    }
  }

  private fingerprint(): string {
    const s = statSync(this.file);
    // A directory of verify-key files changes its mtime when a file is added or removed; a file rewritten in place, its own.
    const inner = s.isDirectory()
      ? readdirSync(this.file)
          .map((f) => {
            const t = statSync(join(this.file, f));
            return `${f}:${t.size}:${t.mtimeMs}`;
          })
          .join('|')
      : '';
    return `${s.ino}:${s.size}:${s.mtimeMs}:${inner}`;
  }
}

/** Signing keys from a keys file, read again when it changes (`loadSigningKeys`). */
export const watchSigningKeys = (file: string, checkMs?: number) => new KeyFileWatcher(file, loadSigningKeys, checkMs);
/** Verify keys from a keys file or directory, read again when it changes (`loadVerifyKeys`). */
export const watchVerifyKeys = (path: string, checkMs?: number) => new KeyFileWatcher(path, loadVerifyKeys, checkMs);
export * from './input-file';
