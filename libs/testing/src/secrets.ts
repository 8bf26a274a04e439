import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKey, verifyKeyEntry } from '@countersign/keys';

export { writeTokens, DEFAULT_PRINCIPALS } from '@countersign/nest';

/**
 * An Ed25519 review-decision key as the services read it: `signingKeysFile` (`[{keyId, privateKeyFile, notBefore,
 * notAfter}]`, the review queue's `APPROVAL_SIGNING_KEYS_FILE`) and `verifyKeysFile` (`[{keyId, publicKeyPem, …}]`,
 * the executor's `APPROVAL_VERIFY_KEYS_FILE`), valid from a minute ago for 30 days.
 */
export function writeApprovalKeys(dir: string, keyId = 'approvals-test-1') {
  mkdirSync(dir, { recursive: true });
  const { key, privateKeyPem } = generateKey(keyId, { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 30 * 24 * 3600 * 1000) });
  const privateKeyFile = join(dir, 'approval-signing.pem');
  const signingKeysFile = join(dir, 'approval-signing.json');
  const verifyKeysFile = join(dir, 'approval-verify.json');
  writeFileSync(privateKeyFile, privateKeyPem, { mode: 0o600 });
  writeFileSync(signingKeysFile, JSON.stringify([{ keyId, privateKeyFile, notBefore: key.notBefore, notAfter: key.notAfter }]));
  writeFileSync(verifyKeysFile, JSON.stringify([verifyKeyEntry(key)]));
  return { keyId, signingKeysFile, verifyKeysFile, signing: key };
}

/**
 * The policy engine's contract-change key (docs/adr/0038), in the same two files: `signingKeysFile` is its
 * `CONTRACT_SIGNING_KEYS_FILE`, `verifyKeysFile` every service's `CONTRACT_VERIFY_KEYS_FILE`.
 */
export const writeContractChangeKeys = (dir: string, keyId = 'contract-changes-test-1') => writeApprovalKeys(dir, keyId);

/**
 * The policy engine's decision key (docs/adr/0040), in a directory of its own under `dir`: `signingKeysFile` is its
 * `DECISION_SIGNING_KEYS_FILE`, `verifyKeysFile` the executor's and the review queue's `DECISION_VERIFY_KEYS_FILE`, and
 * `signing` seals a decision a test publishes by hand.
 */
export const writeDecisionKeys = (dir: string, keyId = 'decisions-test-1') => writeApprovalKeys(join(dir, 'decisions'), keyId);

/**
 * The executor's outcome key (docs/adr/0042), in a directory of its own under `dir`: `signingKeysFile` is its
 * `OUTCOME_SIGNING_KEYS_FILE`, `verifyKeysFile` the orchestrator's, the review queue's and the audit writer's
 * `OUTCOME_VERIFY_KEYS_FILE`, and `signing` seals an outcome a test publishes by hand.
 */
export const writeOutcomeKeys = (dir: string, keyId = 'outcomes-test-1') => writeApprovalKeys(join(dir, 'outcomes'), keyId);

/** The review queue's data key (`REVIEW_DATA_KEY_FILE`): 32 random bytes as base64, in a 0600 file. */
export function writeReviewDataKey(dir: string) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'review-data.key');
  writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  return file;
}
