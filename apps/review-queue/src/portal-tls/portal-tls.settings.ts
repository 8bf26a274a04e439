import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { settings } from '@countersign/config';
import type { WatchedCertificate } from '../trust/certificate-file.source';
import { createAcmeCertificateSource } from './acme-certificate.source';
import { PORTAL_CERT_FILE } from './portal-certificate-manager';
import type { PortalTlsOptions } from './portal-tls.providers';

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** A PEM file with at least one certificate, read at boot. */
const pemCertificateFile = () =>
  z
    .string()
    .min(1)
    .transform((file, ctx) => {
      try {
        const pem = readFileSync(file, 'utf8');
        new X509Certificate(pem);
        return { file, pem };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        ctx.addIssue({ code: 'custom', message: code ? `cannot read ${file} (${code})` : `${file} is not a PEM certificate` });
        return z.NEVER;
      }
    });

/**
 * The reviewer portal's ACME settings (ADR 0027), validated at boot. All optional: without `PORTAL_ACME_DIRECTORY_URL`
 * there is no ACME (the portal's certificate, if any, is managed outside). With it, the host names and the directory
 * are required; any other `PORTAL_*` setting without it is refused (half an ACME setup is a mistake, not "off").
 */
export const PortalAcmeSettings = z
  .object({
    /** The ACME directory (`https://…`; Let's Encrypt's, or pebble's in tests). Unset: no ACME. */
    PORTAL_ACME_DIRECTORY_URL: z.url({ protocol: /^https$/, error: 'an https:// URL' }).optional(),
    /** Roots (PEM file) trusted for the ACME server's HTTPS instead of the system's: a private ACME server's. */
    PORTAL_ACME_CA_FILE: pemCertificateFile().optional(),
    /** The root (PEM file) the issued chain must end at: the trust monitor then watches `portal.pem` against it. */
    PORTAL_ACME_ROOT_FILE: z.string().min(1).optional(),
    /** The portal's host names, comma-separated (the first is the subject). */
    PORTAL_HOSTNAMES: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((x) => x.trim().toLowerCase())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(HOSTNAME, 'a DNS name')).min(1, 'at least one host name'))
      .optional(),
    /** Where `portal.pem`, `portal.key` and the ACME account key (`acme-account.key`) are written. */
    PORTAL_CERT_DIR: z.string().min(1).optional(),
    /** The loopback port answering http-01 during an order (the CA checks port 80; a proxy forwards to this). */
    PORTAL_ACME_HTTP_PORT: settings.number(80, { min: 1, max: 65535, integer: true }),
    /** Renew when less than this share of the lifetime remains (default 1/3, as Let's Encrypt advises). */
    PORTAL_ACME_RENEW_REMAINING: settings.number(1 / 3, { min: 0.001, max: 1 }),
    /** How often the files are checked (ms, default 1 hour). */
    PORTAL_ACME_CHECK_MS: settings.number(3_600_000, { min: 100, max: 86_400_000, integer: true }),
    /** The first retry after a failed renewal (ms, default 10 s), doubling with each failure in a row up to the check. */
    PORTAL_ACME_RETRY_MS: settings.number(10_000, { min: 100, max: 86_400_000, integer: true }),
    /** The ACME account's contact address, optional. */
    PORTAL_ACME_EMAIL: z.email().optional(),
  })
  .superRefine((s, ctx) => {
    if (s.PORTAL_ACME_DIRECTORY_URL) {
      if (!s.PORTAL_HOSTNAMES) ctx.addIssue({ code: 'custom', path: ['PORTAL_HOSTNAMES'], message: 'required with PORTAL_ACME_DIRECTORY_URL' });
      if (!s.PORTAL_CERT_DIR) ctx.addIssue({ code: 'custom', path: ['PORTAL_CERT_DIR'], message: 'required with PORTAL_ACME_DIRECTORY_URL' });
      if (s.PORTAL_ACME_RETRY_MS > s.PORTAL_ACME_CHECK_MS)
        ctx.addIssue({ code: 'custom', path: ['PORTAL_ACME_RETRY_MS'], message: `at most PORTAL_ACME_CHECK_MS (${s.PORTAL_ACME_CHECK_MS})` });
      return;
    }
    for (const k of ['PORTAL_ACME_CA_FILE', 'PORTAL_ACME_ROOT_FILE', 'PORTAL_HOSTNAMES', 'PORTAL_CERT_DIR', 'PORTAL_ACME_EMAIL'] as const)
      if (s[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'set only with PORTAL_ACME_DIRECTORY_URL (no ACME without it)' });
  });

export type PortalAcmeConfig = z.infer<typeof PortalAcmeSettings>;

/** The portal TLS options of the main (an ACME source and the manager's settings), or undefined: no ACME. */
export function portalTlsOptions(c: PortalAcmeConfig): (PortalTlsOptions & { watched?: WatchedCertificate }) | undefined {
  if (!c.PORTAL_ACME_DIRECTORY_URL || !c.PORTAL_HOSTNAMES || !c.PORTAL_CERT_DIR) return undefined;
  return {
    source: createAcmeCertificateSource({
      directoryUrl: c.PORTAL_ACME_DIRECTORY_URL,
      caPem: c.PORTAL_ACME_CA_FILE?.pem,
      accountKeyFile: join(c.PORTAL_CERT_DIR, 'acme-account.key'),
      httpPort: c.PORTAL_ACME_HTTP_PORT,
      email: c.PORTAL_ACME_EMAIL,
    }),
    settings: {
      hostnames: c.PORTAL_HOSTNAMES,
      certDir: c.PORTAL_CERT_DIR,
      renewWhenRemaining: c.PORTAL_ACME_RENEW_REMAINING,
      checkMs: c.PORTAL_ACME_CHECK_MS,
      retryMs: c.PORTAL_ACME_RETRY_MS,
    },
    // The trust monitor watches the portal's chain against the ACME root when one is named (ADR 0019's certificates).
    ...(c.PORTAL_ACME_ROOT_FILE && {
      watched: { owner: 'review-queue', purpose: 'portal-https', file: join(c.PORTAL_CERT_DIR, PORTAL_CERT_FILE), caFile: c.PORTAL_ACME_ROOT_FILE },
    }),
  };
}
