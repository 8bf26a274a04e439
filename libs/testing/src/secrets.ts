import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export { writeTokens, DEFAULT_PRINCIPALS } from '@countersign/nest';

/** An Ed25519 approval key pair as files: the private key for review-queue, `{kid: pem}` for the executor. */
export function writeApprovalKeys(dir: string, kid = 'approvals-test-1') {
  mkdirSync(dir, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signingKeyFile = join(dir, 'approval-signing.pem');
  const verifyKeysFile = join(dir, 'approval-verify.json');
  writeFileSync(signingKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  writeFileSync(verifyKeysFile, JSON.stringify({ [kid]: publicKey.export({ type: 'spki', format: 'pem' }).toString() }));
  return { kid, signingKeyFile, verifyKeysFile, privateKey };
}

/** The review queue's data key (`REVIEW_DATA_KEY_FILE`): 32 random bytes as base64, in a 0600 file. */
export function writeReviewDataKey(dir: string) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'review-data.key');
  writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  return file;
}
