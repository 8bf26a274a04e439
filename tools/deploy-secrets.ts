/**
 * The secret files a deployment mounts (docs/adr/0024-deployment.md), made fresh in one directory:
 *
 *   node -r ./tools/register.js tools/deploy-secrets.ts <dir> --for compose|kubernetes [--days 90]
 *
 * tokens.json (the token registry: hashes and public keys only), approval-signing.json + .pem, approval-verify.json,
 * review-data.key, audit-heads.json + .pem, contract-signing.json + .pem and contract-verify.json (docs/adr/0038),
 * decision-signing.json + .pem and decision-verify.json (docs/adr/0040), outcome-signing.json + .pem and outcome-verify.json
 * (the executor's outcome key, docs/adr/0042). The keys files name their private keys where the services will find them
 * mounted: /run/secrets/<secret> for docker-compose.yml, /etc/countersign/secrets/<file> for infra/k8s. The raw
 * bearer tokens go to <dir>/tokens/ for the operators to hand out: they are never part of a secret. Existing files
 * are not overwritten (a second run would rotate every key and token at once): remove them first to make new ones.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { generateKey, verifyKeyEntry } from '@countersign/keys';
import { writeTokens } from '@countersign/nest';

/** Where each private key is mounted, by target. */
const MOUNTED = {
  compose: {
    approval: '/run/secrets/approval-signing-key',
    audit: '/run/secrets/audit-head-key',
    contract: '/run/secrets/contract-signing-key',
    decision: '/run/secrets/decision-signing-key',
    outcome: '/run/secrets/outcome-signing-key',
  },
  kubernetes: {
    approval: '/etc/countersign/secrets/approval-signing.pem',
    audit: '/etc/countersign/secrets/audit-heads.pem',
    contract: '/etc/countersign/secrets/contract-signing.pem',
    decision: '/etc/countersign/secrets/decision-signing.pem',
    outcome: '/etc/countersign/secrets/outcome-signing.pem',
  },
} as const;

function main(): number {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { for: { type: 'string' }, days: { type: 'string', default: '90' } } });
  const [dir] = positionals;
  const target = values.for as keyof typeof MOUNTED | undefined;
  const days = Number(values.days);
  if (!dir || !target || !(target in MOUNTED) || !(days > 0)) {
    process.stderr.write('usage: tools/deploy-secrets.ts <dir> --for compose|kubernetes [--days 90]\n');
    return 2;
  }
  if (existsSync(dir) && readdirSync(dir).length) {
    process.stderr.write(`${dir} is not empty: remove it first (a new run makes every key and token anew)\n`);
    return 1;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const window = { notBefore: new Date(), notAfter: new Date(Date.now() + days * 24 * 3600_000) };
  const stamp = window.notBefore.toISOString().slice(0, 10);
  const secret = (name: string, text: string) => writeFileSync(join(dir, name), text, { mode: 0o600 });

  writeTokens(dir);
  const approval = generateKey(`approvals-${stamp}`, window);
  secret('approval-signing.pem', approval.privateKeyPem);
  secret('approval-signing.json', JSON.stringify([{ keyId: approval.key.keyId, privateKeyFile: MOUNTED[target].approval, ...windowOf(approval.key) }]));
  secret('approval-verify.json', JSON.stringify([verifyKeyEntry(approval.key)]));
  secret('review-data.key', randomBytes(32).toString('base64'));
  const heads = generateKey(`audit-heads-${stamp}`, window);
  secret('audit-heads.pem', heads.privateKeyPem);
  secret('audit-heads.json', JSON.stringify([{ keyId: heads.key.keyId, privateKeyFile: MOUNTED[target].audit, ...windowOf(heads.key) }]));
  const contract = generateKey(`contract-changes-${stamp}`, window);
  secret('contract-signing.pem', contract.privateKeyPem);
  secret('contract-signing.json', JSON.stringify([{ keyId: contract.key.keyId, privateKeyFile: MOUNTED[target].contract, ...windowOf(contract.key) }]));
  secret('contract-verify.json', JSON.stringify([verifyKeyEntry(contract.key)]));
  // The policy engine's decision key (docs/adr/0040): the executor and the review queue act only on decisions it sealed.
  const decision = generateKey(`decisions-${stamp}`, window);
  secret('decision-signing.pem', decision.privateKeyPem);
  secret('decision-signing.json', JSON.stringify([{ keyId: decision.key.keyId, privateKeyFile: MOUNTED[target].decision, ...windowOf(decision.key) }]));
  secret('decision-verify.json', JSON.stringify([verifyKeyEntry(decision.key)]));
  // The executor's outcome key (docs/adr/0042): its outcome events are sealed with it, and the orchestrator,
  // the review queue and the audit writer take only sealed ones.
  const outcome = generateKey(`outcomes-${stamp}`, window);
  secret('outcome-signing.pem', outcome.privateKeyPem);
  secret('outcome-signing.json', JSON.stringify([{ keyId: outcome.key.keyId, privateKeyFile: MOUNTED[target].outcome, ...windowOf(outcome.key) }]));
  secret('outcome-verify.json', JSON.stringify([verifyKeyEntry(outcome.key)]));
  process.stdout.write(
    `wrote the secret files for ${target} to ${dir} (keys valid until ${window.notAfter.toISOString()}); ` +
      `raw bearer tokens for the operators: ${join(dir, 'tokens')}/\n`,
  );
  return 0;
}

const windowOf = (key: { notBefore: Date; notAfter: Date }) => ({ notBefore: key.notBefore.toISOString(), notAfter: key.notAfter.toISOString() });

process.exitCode = main();
