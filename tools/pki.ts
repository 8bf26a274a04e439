/**
 * The project's private PKI for local runs and tests (libs/pki): a root and an intermediate CA, and one short-lived
 * certificate per party. `infra/stack.sh` calls it before Kafka starts; test runs issue their parties' certificates
 * from the same CA (`issueToDir`).
 *
 *   node -r ./tools/register.js tools/pki.ts ensure <dir> [name:server|client|server+client ...] [--hours H]
 *
 * Makes the CA when missing or within a day of its end (and then every listed party anew: their old certificates
 * chain to the old root), and issues each listed party whose certificate is missing or past half its lifetime.
 * Prints one line per certificate with its end.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CertificateUse, describeCertificate, ensureCa, issueToDir, partyFiles } from '@countersign/pki';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { hours: { type: 'string', default: '12' } } });
const [command, dir, ...parties] = positionals;
const hours = Number(values.hours);
if (command !== 'ensure' || !dir || !(hours > 0)) {
  process.stderr.write('usage: tools/pki.ts ensure <dir> [name:server|client|server+client ...] [--hours H]\n');
  process.exit(2);
}

void (async () => {
  const rootBefore = existsSync(`${dir}/root.pem`) ? describeCertificate(readFileSync(`${dir}/root.pem`, 'utf8')).serialNumber : undefined;
  const ca = await ensureCa(dir);
  const caRenewed = rootBefore !== undefined && rootBefore !== describeCertificate(ca.rootPem).serialNumber;
  process.stdout.write(`pki: CA ${ca.commonName} until ${ca.notAfter.toISOString()}${caRenewed ? ' (made anew)' : ''}\n`);
  for (const party of parties) {
    const [name, use = 'client'] = party.split(':');
    if (!['server', 'client', 'server+client'].includes(use)) throw new Error(`${party}: the use is server, client or server+client`);
    const file = partyFiles(dir, name).cert;
    const lifetimeMs = hours * 3600_000;
    let fresh = false;
    if (!caRenewed && existsSync(file)) {
      const cert = describeCertificate(readFileSync(file, 'utf8'));
      fresh = cert.issuer === ca.cert.subject && cert.notAfter.getTime() - Date.now() > lifetimeMs / 2;
    }
    const issued = fresh ? describeCertificate(readFileSync(file, 'utf8')) : await issueToDir(dir, name, use as CertificateUse, lifetimeMs);
    process.stdout.write(`pki: ${name} until ${issued.notAfter.toISOString()}${fresh ? '' : ' (issued)'}\n`);
  }
})().catch((e: Error) => {
  process.stderr.write(`pki: ${e.message}\n`);
  process.exit(1);
});
