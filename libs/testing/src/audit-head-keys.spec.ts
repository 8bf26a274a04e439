// real: the key files on a temporary directory, the keys library's loader; fake: nothing.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTreeHeadKey } from '@countersign/audit-chain';
import { auditHeadKeys } from './distributed';

describe('auditHeadKeys: the distributed mode keeps its audit key from one run to the next', () => {
  it('makes a key at the first run and keeps it at the next, so the writer verifies the heads the last run signed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'head-keys-'));
    const first = auditHeadKeys(dir, 'ns');
    const again = auditHeadKeys(dir, 'ns');
    expect(first.headKeys).toHaveLength(1);
    expect(again.headKeys.map((k) => k.keyId)).toEqual(first.headKeys.map((k) => k.keyId));
  });

  it('rotates a key that signs for less than a day more: a new one beside it, the old one kept to verify', () => {
    const dir = mkdtempSync(join(tmpdir(), 'head-keys-rotate-'));
    const old = generateTreeHeadKey('old', new Date(Date.now() - 30 * 24 * 3600_000), new Date(Date.now() + 3600_000));
    writeFileSync(join(dir, 'old.pem'), old.privatePem);
    const entry = { keyId: 'old', privateKeyFile: join(dir, 'old.pem'), notBefore: old.entry.notBefore, notAfter: old.entry.notAfter };
    writeFileSync(join(dir, 'audit-heads.json'), JSON.stringify([entry]));
    const { headKeysFile, headKeys } = auditHeadKeys(dir, 'ns');
    expect(headKeys.map((k) => k.keyId)).toEqual(['old', expect.stringMatching(/^audit-heads-ns-\d+$/)]);
    expect((JSON.parse(readFileSync(headKeysFile, 'utf8')) as unknown[])[0]).toEqual(JSON.parse(JSON.stringify(entry)));
  });
});

describe('auditHeadKeys: a key whose private key is gone', () => {
  it('is dropped alone: the other keys stay, so the heads they signed still verify (red team of this change, 2026-12-07)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'head-keys-lost-'));
    const lost = generateTreeHeadKey('lost', new Date(Date.now() - 60_000), new Date(Date.now() + 30 * 24 * 3600_000));
    const kept = generateTreeHeadKey('kept', new Date(Date.now() - 60_000), new Date(Date.now() + 30 * 24 * 3600_000));
    writeFileSync(join(dir, 'kept.pem'), kept.privatePem);
    const entry = (k: typeof kept, file: string) => ({
      keyId: k.entry.keyId,
      privateKeyFile: join(dir, file),
      notBefore: k.entry.notBefore,
      notAfter: k.entry.notAfter,
    });
    writeFileSync(join(dir, 'audit-heads.json'), JSON.stringify([entry(lost, 'lost.pem'), entry(kept, 'kept.pem')]));
    expect(auditHeadKeys(dir, 'ns').headKeys.map((k) => k.keyId)).toEqual(['kept']);
  });
});
