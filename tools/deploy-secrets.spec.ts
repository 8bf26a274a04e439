import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sign, verify } from 'node:crypto';
import { loadSigningKeys, loadVerifyKeys } from '@countersign/keys';
import { loadTokenRegistry } from '@countersign/nest';

// real: tools/deploy-secrets.ts run as an operator runs it, and the loaders the services read its files with; fake: nothing.
const root = join(__dirname, '..');
const run = (...args: string[]) =>
  spawnSync(process.execPath, ['-r', join(__dirname, 'register.js'), join(__dirname, 'deploy-secrets.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, SWC_NODE_PROJECT: join(root, 'tsconfig.json') },
  });

describe('tools/deploy-secrets.ts', () => {
  it('writes the files the services load, naming the private keys where Kubernetes mounts them', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'deploy-secrets-')), 'out');
    const made = run(dir, '--for', 'kubernetes', '--days', '30');
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    expect(loadTokenRegistry(join(dir, 'tokens.json'))).toBeDefined();
    // No raw token in the registry: hashes only.
    const rawAgent = readFileSync(join(dir, 'tokens', 'agent'), 'utf8');
    expect(readFileSync(join(dir, 'tokens.json'), 'utf8')).not.toContain(rawAgent);
    expect(Buffer.from(readFileSync(join(dir, 'review-data.key'), 'utf8'), 'base64')).toHaveLength(32);
    for (const [keys, pem, verifyKeys] of [
      ['approval-signing.json', 'approval-signing.pem', 'approval-verify.json'],
      ['audit-heads.json', 'audit-heads.pem', undefined],
      ['contract-signing.json', 'contract-signing.pem', 'contract-verify.json'],
      ['decision-signing.json', 'decision-signing.pem', 'decision-verify.json'],
      ['outcome-signing.json', 'outcome-signing.pem', 'outcome-verify.json'],
    ] as const) {
      const listed = JSON.parse(readFileSync(join(dir, keys), 'utf8')) as Array<{ privateKeyFile: string; notAfter: string }>;
      expect(listed[0].privateKeyFile).toBe(`/etc/countersign/secrets/${pem}`);
      expect(Date.parse(listed[0].notAfter) - Date.now()).toBeGreaterThan(29 * 24 * 3600_000);
      // As mounted: the same file, found at the path the keys file names.
      const local = join(dir, `local-${keys}`);
      writeFileSync(local, JSON.stringify(listed.map((k) => ({ ...k, privateKeyFile: join(dir, pem) }))));
      const [signer] = loadSigningKeys(local);
      if (verifyKeys) {
        const [verifier] = loadVerifyKeys(join(dir, verifyKeys));
        expect(verifier.keyId).toBe(signer.keyId);
        const signature = sign(null, Buffer.from('decision'), signer.privateKey);
        expect(verify(null, Buffer.from('decision'), verifier.publicKey, signature)).toBe(true);
      }
    }
  });

  it('names the compose secrets for docker-compose.yml, and refuses to overwrite or to guess', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'deploy-secrets-')), 'out');
    expect(run(dir, '--for', 'compose').status).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'approval-signing.json'), 'utf8'))[0].privateKeyFile).toBe('/run/secrets/approval-signing-key');
    expect(JSON.parse(readFileSync(join(dir, 'audit-heads.json'), 'utf8'))[0].privateKeyFile).toBe('/run/secrets/audit-head-key');
    const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain('  approval-signing-key:\n    file: ./.stack/deploy/approval-signing.pem');
    expect(compose).toContain('  audit-head-key:\n    file: ./.stack/deploy/audit-heads.pem');
    expect(JSON.parse(readFileSync(join(dir, 'contract-signing.json'), 'utf8'))[0].privateKeyFile).toBe('/run/secrets/contract-signing-key');
    expect(compose).toContain('  contract-signing-key:\n    file: ./.stack/deploy/contract-signing.pem');
    expect(JSON.parse(readFileSync(join(dir, 'decision-signing.json'), 'utf8'))[0].privateKeyFile).toBe('/run/secrets/decision-signing-key');
    expect(compose).toContain('  decision-signing-key:\n    file: ./.stack/deploy/decision-signing.pem');
    expect(JSON.parse(readFileSync(join(dir, 'outcome-signing.json'), 'utf8'))[0].privateKeyFile).toBe('/run/secrets/outcome-signing-key');
    expect(compose).toContain('  outcome-signing-key:\n    file: ./.stack/deploy/outcome-signing.pem');
    const before = readFileSync(join(dir, 'tokens.json'), 'utf8');
    expect(run(dir, '--for', 'compose')).toMatchObject({ status: 1, stderr: expect.stringContaining('is not empty') });
    expect(readFileSync(join(dir, 'tokens.json'), 'utf8')).toBe(before);
    expect(run(dir).status).toBe(2);
  });
});
