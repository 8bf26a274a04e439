import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey } from '@countersign/keys';
import { KeyListSource } from './key-file.source';

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
