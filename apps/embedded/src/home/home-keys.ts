import { createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALWAYS, generateKey, signingKeyFromPem, SigningKey } from '@countersign/keys';
import { keyFingerprint } from '@countersign/audit-chain';
import type { Logger } from '@countersign/logging';
import { generateReviewDataKey, parseReviewDataKey } from '@countersign/review-queue';
import { HOME_KEY_FILES, HomeKeyFile, keyFile } from './home-manifest';
import { StartRefusedError } from './start-checks';
import { readRegularFile } from '@countersign/config';

/** The home's keys, read from `keys/` (see `HOME_KEY_FILES`). */
export interface HomeKeys {
  files: Record<HomeKeyFile, string>;
  dataKey: Buffer;
  approvals: SigningKey;
  contractChanges: SigningKey;
  decisions: SigningKey;
  outcomes: SigningKey;
  auditHeads: { entry: SigningKey; fingerprint: string };
}

/**
 * Reads the home's keys. A missing key file is made only where `makeMissing` (a new home, or a home of an older version
 * that had no such key yet), and said at warn on an older home: everywhere else `inspectHome` has refused the start
 * already. A key file that does not hold a key of its kind (empty, cut short, edited) refuses the start in one line
 * naming it, instead of a decoder's stack trace (red team: "error:1E08010C:DECODER routines::unsupported").
 */
export function readHomeKeys(home: string, makeMissing: 'new-home' | 'older-home' | false, logger: Logger): HomeKeys {
  const files = Object.fromEntries((Object.keys(HOME_KEY_FILES) as HomeKeyFile[]).map((name) => [name, keyFile(home, name)])) as Record<HomeKeyFile, string>;
  const read = (name: HomeKeyFile, make: () => string): string => {
    const file = files[name];
    if (!existsSync(file)) {
      if (!makeMissing)
        throw new StartRefusedError(`${file}: missing (${HOME_KEY_FILES[name]}): restore it from a backup, or start a new home (another COUNTERSIGN_HOME)`);
      mkdirSync(join(home, 'keys'), { recursive: true, mode: 0o700 });
      writeFileSync(file, make(), { mode: 0o600 });
      if (makeMissing === 'older-home') logger.warn({ file }, `${file}: made, as this home had none (a home of an older version)`);
    }
    return readRegularFile(file).toString('utf8');
  };
  const unusable = (name: HomeKeyFile, text: string, kind: string) =>
    new StartRefusedError(
      `${files[name]}: ${text.trim() === '' ? 'empty' : `not ${kind}`} (${HOME_KEY_FILES[name]}): restore it from a backup, or start a new home (another COUNTERSIGN_HOME)`,
    );
  const pem = (name: HomeKeyFile, keyId: (text: string) => string, window: { notBefore: Date; notAfter: Date }) => {
    const text = read(name, () => generateKey(keyId('')).privateKeyPem);
    try {
      return signingKeyFromPem(keyId(text), text, window.notBefore, window.notAfter);
    } catch {
      throw unusable(name, text, 'an Ed25519 private key in PEM (PKCS #8)');
    }
  };

  const dataText = read('review-data.key', generateReviewDataKey);
  let dataKey: Buffer;
  try {
    dataKey = parseReviewDataKey(dataText);
  } catch {
    throw unusable('review-data.key', dataText, 'a 256-bit key as base64 (44 characters)');
  }
  // The approvals key keeps the window it always had; the others are always valid (ALWAYS): the embedded mode has no rotation.
  const approvals = pem('approvals.key', () => 'embedded-approvals', { notBefore: new Date(0), notAfter: new Date('9999-12-31T23:59:59.999Z') });
  const contractChanges = pem('contract-changes.key', () => 'embedded-contract-changes', ALWAYS);
  const decisions = pem('decisions.key', () => 'embedded-decisions', ALWAYS);
  const outcomes = pem('outcomes.key', () => 'embedded-outcomes', ALWAYS);
  // The tree-head key's id comes from its fingerprint, so a key made again never takes an older key's id.
  let fingerprint = '';
  const auditEntry = pem(
    'audit-heads.key',
    (text) => {
      if (!text) return 'embedded-heads';
      fingerprint = keyFingerprint(createPublicKey(text));
      return `embedded-heads-${fingerprint.slice(0, 16)}`;
    },
    ALWAYS,
  );
  return { files, dataKey, approvals, contractChanges, decisions, outcomes, auditHeads: { entry: auditEntry, fingerprint } };
}
