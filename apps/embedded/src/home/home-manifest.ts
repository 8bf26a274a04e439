import { createHash } from 'node:crypto';
import { existsSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StartRefusedError } from './start-checks';
import { readRegularFile } from '@countersign/config';

/** The file that says what a used home holds (written by the first start, checked by every start). */
export const MANIFEST_FILE = 'home.json';

/** The home's key files (under `keys/`), what each is for, and what is lost without it. */
export const HOME_KEY_FILES = {
  'review-data.key': 'the key that seals the real proposals of review items: without it no pending item can be revealed',
  'approvals.key': 'the key that signs review decisions: without it the decisions signed before no longer verify',
  'contract-changes.key': 'the key that signs approved contract changes: without it the changes made before are not replayed',
  'decisions.key': 'the key that seals policy decisions and autonomy changes: without it what it sealed is ignored (an approved kill switch "off" among it)',
  'outcomes.key': 'the key that seals execution outcomes: without it the outcomes sealed before are not taken',
  'audit-heads.key': 'the key that signs the audit tree heads, the one `audit verify --trust` pins',
  // Made by the audit log at its first read, so listed from the first record after it (trust probe, 2026-12-05: a
  // key written over while stopped went unnoticed, and the log's pseudonyms of one digest differed across the start).
  'audit-pseudonym.key': "the key of the audit log's pseudonyms (docs/adr/0049): without it, or with another, equal digests no longer read as equal",
} as const;
export type HomeKeyFile = keyof typeof HOME_KEY_FILES;

/** What a used home holds: each part must still be there at the next start. */
export interface HomeManifest {
  version: 1;
  /** When the home was first recorded (its first start, or the first start of this version on an older home). */
  recordedAt: string;
  /** `db/`, the embedded PostgreSQL (idempotency keys, action views, review items, executions, the bus log). */
  database: boolean;
  /** `audit/audit.jsonl`, made (empty if need be) as the first start's services have started. */
  auditLog: boolean;
  /** Each key file's SHA-256 (hex) as it was when recorded: a key made again is another key. */
  keys: Partial<Record<HomeKeyFile, string>>;
}

/** What a start finds in the home before it opens anything. */
export interface HomeState {
  /** Nothing of a used home is there: the keys, the flag file and the database are made. */
  isNew: boolean;
  /** The manifest read, or undefined for a new home or one made by a version before manifests. */
  manifest?: HomeManifest;
}

const RESTORE = 'restore it from a backup, or start a new home (another COUNTERSIGN_HOME)';
const dbDir = (home: string) => join(home, 'db');
const auditLogFile = (home: string) => join(home, 'audit', 'audit.jsonl');
export const keyFile = (home: string, name: HomeKeyFile) => join(home, 'keys', name);
export const fileSha256 = (file: string) => createHash('sha256').update(readRegularFile(file)).digest('hex');

/**
 * Checks the home against its manifest before anything in it is opened or made: a part the manifest lists that is
 * missing, or a key file that is another key now, refuses the start in one line naming it. Without this a lost `db/`
 * started a new database (the same Idempotency-Key then executed again, pending reviews vanished), a lost key was made
 * again (what the old one signed no longer verified), and a lost `audit/` began a new log under the same pinned key,
 * each without a word (red team, 2026-12-05). A home without a manifest is new when none of its state is there; one
 * made by an older version is recorded as it is, once, by `recordHome`.
 */
export function inspectHome(home: string): HomeState {
  const path = resolve(home);
  const file = join(path, MANIFEST_FILE);
  const refuse = (problem: string) => new StartRefusedError(`COUNTERSIGN_HOME ${path}: ${problem}`);
  if (!existsSync(file)) {
    const keys = Object.keys(HOME_KEY_FILES).filter((k) => existsSync(keyFile(path, k as HomeKeyFile)));
    const hasDb = existsSync(dbDir(path));
    const auditEntries = existsSync(auditLogFile(path)) && statSync(auditLogFile(path)).size > 0;
    // An older home (no manifest) whose database is gone while its audit log holds entries: the same loss as above.
    if (!hasDb && auditEntries)
      throw refuse(
        `db/ (the database) is missing, though audit/audit.jsonl holds entries: a new database would forget the idempotency keys and pending reviews: ${RESTORE}`,
      );
    // A database without keys, audit entries or a manifest is a first start's that failed after making it (disk probe,
    // 2026-12-05: descriptors ran out; taken for an older home, the next start wrote no flag file and was never ready).
    return { isNew: keys.length === 0 && !auditEntries };
  }
  let manifest: HomeManifest;
  try {
    manifest = JSON.parse(readRegularFile(file).toString('utf8')) as HomeManifest;
    if (manifest?.version !== 1 || typeof manifest.keys !== 'object' || manifest.keys === null) throw new Error('not a home manifest of version 1');
  } catch (e) {
    throw refuse(`${MANIFEST_FILE} cannot be read (${(e as Error).message}): ${RESTORE}`);
  }
  if (manifest.database && !existsSync(dbDir(path)))
    throw refuse(
      `db/ (the database) is missing, though ${MANIFEST_FILE} lists it: a new database would forget the idempotency keys and pending reviews: ${RESTORE}`,
    );
  if (manifest.auditLog && !existsSync(auditLogFile(path)))
    throw refuse(
      `audit/audit.jsonl (the audit log) is missing, though ${MANIFEST_FILE} lists it: a new log would begin under the same tree-head key: ${RESTORE}`,
    );
  for (const [name, sha256] of Object.entries(manifest.keys) as [HomeKeyFile, string][]) {
    const key = keyFile(path, name);
    if (!existsSync(key)) throw refuse(`keys/${name} is missing, though ${MANIFEST_FILE} lists it (${HOME_KEY_FILES[name]}): ${RESTORE}`);
    if (statSync(key).size === 0) throw refuse(`keys/${name} is empty (${HOME_KEY_FILES[name]}): ${RESTORE}`);
    if (fileSha256(key) !== sha256)
      throw refuse(`keys/${name} is not the key ${MANIFEST_FILE} lists (its SHA-256 differs; ${HOME_KEY_FILES[name]}): ${RESTORE}`);
  }
  return { isNew: false, manifest };
}

/**
 * Records what the home holds now (the database, the audit log once written, every key file) in its manifest, when
 * that is more than the manifest lists; returns the manifest now and whether it wrote. Written to a temporary file and renamed, so a crash
 * leaves the old manifest or the new one. The caller holds the home's lock.
 */
export function recordHome(home: string, before: HomeManifest | undefined): { manifest: HomeManifest; wrote: boolean } {
  const path = resolve(home);
  const keys: HomeManifest['keys'] = { ...before?.keys };
  for (const name of Object.keys(HOME_KEY_FILES) as HomeKeyFile[])
    if (!keys[name] && existsSync(keyFile(path, name))) keys[name] = fileSha256(keyFile(path, name));
  const next: HomeManifest = {
    version: 1,
    recordedAt: before?.recordedAt ?? new Date().toISOString(),
    database: before?.database || existsSync(dbDir(path)),
    auditLog: before?.auditLog || existsSync(auditLogFile(path)),
    keys,
  };
  if (before && JSON.stringify(next) === JSON.stringify(before)) return { manifest: before, wrote: false };
  const file = join(path, MANIFEST_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  return { manifest: next, wrote: true };
}
