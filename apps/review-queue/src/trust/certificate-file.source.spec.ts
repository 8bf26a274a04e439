import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRootCa, issueCertificate, issueIntermediateCa } from '@countersign/pki';
import { CertificateFileSource } from './certificate-file.source';
import { assessTrust } from './trust-source';

const HOUR = 3600_000;
const at = (ms: number) => new Date(Date.now() + ms);

describe('CertificateFileSource', () => {
  let dir: string;
  let caFile: string;
  let otherCaFile: string;
  let certFile: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cert-source-'));
    const root = await createRootCa('root', { notAfter: at(48 * HOUR) });
    const ca = await issueIntermediateCa(root, 'issuing', { notAfter: at(24 * HOUR) });
    const cert = await issueCertificate(ca, 'executor', 'client', { notAfter: at(12 * HOUR) });
    const other = await createRootCa('other', { notAfter: at(48 * HOUR) });
    caFile = join(dir, 'root.pem');
    otherCaFile = join(dir, 'other.pem');
    certFile = join(dir, 'executor.pem');
    writeFileSync(caFile, root.certPem);
    writeFileSync(otherCaFile, other.certPem);
    writeFileSync(certFile, cert.chainPem);
  });
  const source = (o: { file?: string; caFile?: string } = {}, warnMs = 2 * HOUR) =>
    new CertificateFileSource({ owner: 'executor', purpose: 'kafka-client', file: o.file ?? certFile, caFile: o.caFile ?? caFile }, warnMs);

  it('a valid certificate that chains to its root is ok, with its end', () => {
    const [f] = source().check(new Date());
    expect(f).toMatchObject({ kind: 'certificate', status: 'ok', owner: 'executor', purpose: 'kafka-client' });
    expect(Date.parse(f.notAfter!)).toBeGreaterThan(Date.now() + 11 * HOUR);
    expect(assessTrust([f]).health).toBe('healthy');
  });

  it('close to its end it is rotation-due (degraded); past it, expired (unhealthy: trust-sensitive work is held)', () => {
    const [due] = source().check(at(11 * HOUR));
    expect(due.status).toBe('rotation-due');
    expect(assessTrust([due]).health).toBe('degraded');
    const [expired] = source().check(at(13 * HOUR));
    expect(expired.status).toBe('expired');
    expect(assessTrust([expired]).health).toBe('unhealthy');
  });

  it('without a root to end at (a certificate an operator gives the embedded mode), its own chain and dates are checked (trust probe, 2026-12-05)', () => {
    const own = new CertificateFileSource({ owner: 'embedded', purpose: 'https-server', file: certFile }, 2 * HOUR);
    expect(own.check(new Date())).toEqual([expect.objectContaining({ status: 'ok', purpose: 'https-server' })]);
    expect(own.check(at(13 * HOUR))).toEqual([expect.objectContaining({ status: 'expired', reason: expect.stringContaining('expired') })]);
    // The leaf without the intermediate that issued it, but with a stranger's certificate as its next link: broken.
    const broken = join(dir, 'broken.pem');
    writeFileSync(broken, readFileSync(certFile, 'utf8').split(/(?=-----BEGIN CERTIFICATE-----)/)[0] + readFileSync(otherCaFile, 'utf8'));
    expect(new CertificateFileSource({ owner: 'embedded', purpose: 'https-server', file: broken }, 2 * HOUR).check(new Date())).toEqual([
      expect.objectContaining({ status: 'unreadable', reason: expect.stringContaining('the chain in the file is broken') }),
    ]);
  });

  it('a chain to another root, a missing file and a file that is no certificate are all unhealthy', () => {
    const [foreign] = source({ caFile: otherCaFile }).check(new Date());
    expect(foreign).toMatchObject({ status: 'unreadable' });
    expect(foreign.reason).toMatch(/is not issued by/);
    expect(source({ file: join(dir, 'nope.pem') }).check(new Date())[0].status).toBe('missing');
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
    expect(source({ file: junk }).check(new Date())[0].status).toBe('unreadable');
    for (const f of [foreign, ...source({ file: junk }).check(new Date())]) expect(assessTrust([f]).health).toBe('unhealthy');
  });

  it('one source follows its file through a renewal, a foreign replacement and removal (parsed again when the text changes)', async () => {
    const file = join(dir, 'renewed.pem');
    const root = await createRootCa('renewal-root', { notAfter: at(48 * HOUR) });
    const ca = await issueIntermediateCa(root, 'renewal-issuing', { notAfter: at(24 * HOUR) });
    const rootFile = join(dir, 'renewal-root.pem');
    writeFileSync(rootFile, root.certPem);
    const first = await issueCertificate(ca, 'executor', 'client', { notAfter: at(1 * HOUR) });
    writeFileSync(file, first.chainPem);
    const watched = source({ file, caFile: rootFile });
    const [before] = watched.check(new Date());
    expect(before).toMatchObject({ status: 'rotation-due' });
    expect(watched.check(at(2 * HOUR))[0]).toMatchObject({ status: 'expired', keyId: before.keyId });

    const renewed = await issueCertificate(ca, 'executor', 'client', { notAfter: at(12 * HOUR) });
    writeFileSync(file, renewed.chainPem);
    const [after] = watched.check(new Date());
    expect(after).toMatchObject({ status: 'ok' });
    expect(after.keyId).not.toBe(before.keyId);

    const otherRoot = await createRootCa('x', { notAfter: at(48 * HOUR) });
    const foreign = await issueCertificate(await issueIntermediateCa(otherRoot, 'x-issuing', { notAfter: at(24 * HOUR) }), 'executor', 'client', {
      notAfter: at(12 * HOUR),
    });
    writeFileSync(file, foreign.chainPem);
    expect(watched.check(new Date())[0]).toMatchObject({ status: 'unreadable', reason: expect.stringMatching(/is not issued by/) });
    rmSync(file);
    expect(watched.check(new Date())[0].status).toBe('missing');
  });
});
