import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey, verifyKeyEntry } from '@countersign/keys';
import { writeApprovalKeys } from '@countersign/testing';
import { keyPairings, KeyListSource, WatchedKeyFile } from './key-file.source';

// real: KeyListSource over a key file on disk (made here) and an Ed25519 key; fake: nothing.
describe('keys held in memory, read from a file at start (the embedded mode)', () => {
  const now = new Date('2026-12-05T12:00:00Z');
  const watched = { kind: 'signing-key' as const, owner: 'review-queue', purpose: 'approval-signing', label: 'keys/approvals.key' };

  it('are watched in their file too: removed or written over while the instance runs is unhealthy at once (trust probe, 2026-12-05)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'key-list-'));
    try {
      const { key, privateKeyPem } = generateKey('embedded-approvals');
      const path = join(dir, 'approvals.key');
      writeFileSync(path, privateKeyPem);
      const source = new KeyListSource(watched, () => [key], 86_400_000, { path, sha256: createHash('sha256').update(privateKeyPem).digest('hex') });
      expect(source.check(now)).toEqual([expect.objectContaining({ status: 'ok', keyId: 'embedded-approvals', source: 'keys/approvals.key' })]);
      writeFileSync(path, generateKey('embedded-approvals').privateKeyPem);
      expect(source.check(now)).toEqual([
        expect.objectContaining({
          status: 'unreadable',
          reason: `${path} is not the key this instance started with (its SHA-256 differs): restore it; its next start is refused as it is`,
        }),
      ]);
      rmSync(path);
      expect(source.check(now)).toEqual([
        expect.objectContaining({ status: 'missing', reason: expect.stringMatching(/^.*approvals\.key: no such file; this instance still holds/) }),
      ]);
      // Restored: healthy again.
      writeFileSync(path, privateKeyPem);
      expect(source.check(now)).toEqual([expect.objectContaining({ status: 'ok' })]);
      // Without a file, only the keys are checked.
      expect(new KeyListSource(watched, () => [key], 86_400_000).check(now)).toEqual([expect.objectContaining({ status: 'ok' })]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a signing keys file beside the verify file of the service that checks its signatures', () => {
  it('finds the key signing now missing from the verify file, and a listed successor not there yet (trust probe, 2026-12-05)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'key-pairing-'));
    try {
      const a = writeApprovalKeys(join(dir, 'a'), 'approvals-A');
      const files: WatchedKeyFile[] = [
        { kind: 'signing-key', owner: 'review-queue', purpose: 'approval-signing', file: a.signingKeysFile },
        { kind: 'verify-key', owner: 'executor', purpose: 'approval-verify', file: a.verifyKeysFile },
        // Not a pair: another purpose.
        { kind: 'signing-key', owner: 'audit-writer', purpose: 'audit-tree-head', file: a.signingKeysFile },
      ];
      const [pairing, ...others] = keyPairings(files);
      expect(others).toEqual([]);
      const now = new Date();
      expect(pairing.check(now)).toEqual([
        expect.objectContaining({ status: 'ok', keyId: 'approvals-A', owner: 'executor', purpose: 'approval-verify-lists-signer' }),
      ]);
      // B listed to take over in a day: the executor's file must list it before then.
      const b = writeApprovalKeys(join(dir, 'b'), 'approvals-B');
      const signing = JSON.parse(readFileSync(a.signingKeysFile, 'utf8'));
      const bEntry = { ...JSON.parse(readFileSync(b.signingKeysFile, 'utf8'))[0], notBefore: new Date(now.getTime() + 86_400_000).toISOString() };
      writeFileSync(a.signingKeysFile, JSON.stringify([...signing, bEntry]));
      expect(pairing.check(now)).toEqual([
        expect.objectContaining({
          status: 'rotation-due',
          keyId: 'approvals-B',
          reason: expect.stringContaining('does not list approvals-B, which review-queue signs with from'),
        }),
      ]);
      // B signs now (A retired), and the executor's file lists A only: every approval would be refused there.
      writeFileSync(a.signingKeysFile, JSON.stringify([{ ...bEntry, notBefore: new Date(now.getTime() - 60_000).toISOString() }]));
      expect(pairing.check(now)).toEqual([
        expect.objectContaining({
          status: 'missing',
          keyId: 'approvals-B',
          reason: expect.stringContaining('the key review-queue signs with now: executor refuses all it signs'),
        }),
      ]);
      // Another key under B's id is not B.
      writeFileSync(a.verifyKeysFile, JSON.stringify([{ ...verifyKeyEntry(generateKey('approvals-B').key), keyId: 'approvals-B' }]));
      expect(pairing.check(now)).toEqual([expect.objectContaining({ status: 'missing', keyId: 'approvals-B' })]);
      // Listed: ok.
      writeFileSync(a.verifyKeysFile, readFileSync(b.verifyKeysFile));
      expect(pairing.check(now)).toEqual([expect.objectContaining({ status: 'ok', keyId: 'approvals-B' })]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
