import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { TrustFinding, TrustSource } from './trust-source';

/** A certificate the trust monitor watches: whose it is, what for, its PEM file (leaf first, then its chain) and the root it must chain to. */
export interface WatchedCertificate {
  /** The party that presents it (`executor`, `kafka-broker`, …). */
  owner: string;
  /** What it is for (`kafka-client`, `kafka-broker`, `https`): the `certificate` label of its expiry metric. */
  purpose: string;
  file: string;
  /**
   * The root certificate (PEM) the chain must end at. Without one (a certificate an operator gives the embedded mode,
   * whose root Countersign does not hold) the file's own chain is checked link by link, and its dates.
   */
  caFile?: string;
}

/** The `TRUST_CERT_FILES` setting. */
export const WatchedCertificates = z.array(
  z.strictObject({
    owner: z.string().min(1).max(200),
    purpose: z.string().min(1).max(200),
    file: z.string().min(1).max(1000),
    caFile: z.string().min(1).max(1000),
  }),
);

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** What a certificate file and its root say, apart from the time: read once per content. */
type Inspected = { status: 'unreadable'; reason: string; keyId?: string; notAfter?: string } | { keyId: string; notBefore: number; notAfter: number };

/**
 * One certificate file, read afresh at every check (a renewal is a new file): `missing`, `unreadable` (not a
 * certificate, or its chain does not end at the root it must: an impostor is as bad as none), `expired` (past its end or
 * not yet valid), `rotation-due` (ends within `warnMs`: renew it), or `ok`. The certificate's serial number is its id.
 * The files are read at every check; they are parsed and their chain verified again only when their text changed.
 */
export class CertificateFileSource implements TrustSource {
  readonly name: string;
  private last?: { pem: string; caPem: string; inspected: Inspected };

  constructor(
    private readonly watched: WatchedCertificate,
    private readonly warnMs: number,
  ) {
    this.name = `${watched.owner} ${watched.purpose} certificate (${watched.file})`;
  }

  check(now: Date): TrustFinding[] {
    const { owner, purpose, file } = this.watched;
    const finding = (f: Pick<TrustFinding, 'status' | 'reason'> & Partial<TrustFinding>): TrustFinding[] => [
      { kind: 'certificate', owner, purpose, source: file, ...f, reason: f.reason.slice(0, 2000) },
    ];
    let pem: string;
    let caPem: string;
    try {
      pem = readFileSync(file, 'utf8');
      caPem = this.watched.caFile ? readFileSync(this.watched.caFile, 'utf8') : '';
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return finding({ status: 'missing', reason: `${(e as { path?: string }).path ?? file}: no such file` });
      return finding({ status: 'unreadable', reason: `${file}: cannot be read (${code ?? (e as Error).message})` });
    }
    if (this.last?.pem !== pem || this.last.caPem !== caPem) this.last = { pem, caPem, inspected: this.inspect(pem, caPem) };
    const c = this.last.inspected;
    if ('status' in c) return finding(c);
    const { keyId } = c;
    const endIso = new Date(c.notAfter).toISOString();
    if (now.getTime() >= c.notAfter)
      return finding({ status: 'expired', keyId, notAfter: endIso, reason: `${owner}'s ${purpose} certificate expired ${endIso}: renew it` });
    if (now.getTime() < c.notBefore)
      return finding({
        status: 'expired',
        keyId,
        notAfter: endIso,
        reason: `${owner}'s ${purpose} certificate is not valid before ${new Date(c.notBefore).toISOString()}`,
      });
    if (c.notAfter - now.getTime() <= this.warnMs)
      return finding({ status: 'rotation-due', keyId, notAfter: endIso, reason: `${owner}'s ${purpose} certificate ends ${endIso}: renew it before then` });
    return finding({ status: 'ok', keyId, notAfter: endIso, reason: `${owner}'s ${purpose} certificate is valid until ${endIso}` });
  }

  /** The chain in `pem` (leaf first), checked link by link up to the root in `caPem`, and the window all of it is valid in. */
  private inspect(pem: string, caPem: string): Inspected {
    const { file, caFile } = this.watched;
    let chain: X509Certificate[];
    let root: X509Certificate | undefined;
    try {
      chain = (pem.match(PEM_CERT) ?? []).map((text) => new X509Certificate(text));
      root = caPem ? new X509Certificate(caPem) : undefined;
    } catch (e) {
      return { status: 'unreadable', reason: `${file}: not a certificate (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
    }
    const leaf = chain[0];
    if (!leaf) return { status: 'unreadable', reason: `${file}: no certificate in the file` };
    const keyId = leaf.serialNumber;
    // Each certificate signed by the next, the last by the root: a chain to another CA is no chain at all.
    const links = root ? [...chain, root] : chain;
    for (let i = 0; i < links.length - 1; i++) {
      if (!links[i].checkIssued(links[i + 1]) || !links[i].verify(links[i + 1].publicKey))
        return {
          status: 'unreadable',
          keyId,
          notAfter: new Date(leaf.validTo).toISOString(),
          reason: `${file}: ${links[i].subject} is not issued by ${links[i + 1].subject} (${caFile ? `the chain does not end at ${caFile}` : 'the chain in the file is broken'})`,
        };
    }
    return {
      keyId,
      notBefore: chain.reduce((t, c) => Math.max(t, Date.parse(c.validFrom)), 0),
      notAfter: chain.reduce((t, c) => Math.min(t, Date.parse(c.validTo)), root ? Date.parse(root.validTo) : Infinity),
    };
  }
}
