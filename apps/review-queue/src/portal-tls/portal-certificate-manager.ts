import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import { writeFileAtomically } from './atomic-write';
import type { PortalCertificate, PortalCertificateSource } from './portal-certificate.source';

export interface PortalCertificateSettings {
  /** The portal's host names (the first is the certificate's subject); all must be in the certificate. */
  hostnames: readonly string[];
  /** Where `portal.pem` (the chain) and `portal.key` are written (`HTTP_TLS_CERT_FILE`/`HTTP_TLS_KEY_FILE` point here). */
  certDir: string;
  /** Renew when less than this share of the certificate's lifetime remains (0 < share ≤ 1; Let's Encrypt advises 1/3). */
  renewWhenRemaining: number;
  /** How often the files are checked (ms). */
  checkMs: number;
  /**
   * After a failed renewal the next try comes after this long (ms), doubling with each failure in a row up to `checkMs`:
   * a transient failure (a CA restarting, a network blip) at boot must not leave the portal without a certificate for a
   * whole `checkMs`, and a lasting one must not hammer the CA (Let's Encrypt limits failed validations per hour).
   */
  retryMs: number;
}

export const PORTAL_CERT_FILE = 'portal.pem';
export const PORTAL_KEY_FILE = 'portal.key';

/** The certificate in force, as read from the files. */
export interface PortalCertificateState {
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** When it is due for renewal: `notAfter − renewWhenRemaining × lifetime`. */
  renewAt: Date;
}

/** What one check did: the files were fine (`fresh`), were replaced (`renewed`), or a renewal was needed and failed. */
export type PortalCheckOutcome = 'fresh' | 'renewed' | 'failed';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Keeps the portal's certificate files current (ADR 0027): at start and every `checkMs` it reads `portal.pem` and
 * `portal.key`, and orders a new certificate from its source when they are missing, unreadable, do not match, do not
 * cover every host name, or less than `renewWhenRemaining` of the lifetime remains. What comes back is checked (names,
 * key, validity) before it is written, each file atomically (key first, then the chain: a reader that loads the pair
 * between the two renames sees a mismatch and keeps what it had, see ADR 0027). A failed renewal is counted
 * (`countersign_acme_renewals_total{outcome="failure"}`), logged as an alert line (`alert: 'portal-acme'`, the error's
 * message only: never a key) and tried again after `retryMs`, doubling with each failure in a row up to `checkMs`; the files in place are never removed.
 */
export class PortalCertificateManager {
  private timer?: NodeJS.Timeout;
  private running = false;
  private inFlight?: Promise<PortalCheckOutcome>;
  /** Failed renewals in a row (0 after a success or a fresh check): sets the next retry's delay. */
  private failures = 0;
  private readonly certFile: string;
  private readonly keyFile: string;

  constructor(
    private readonly source: PortalCertificateSource,
    private readonly settings: PortalCertificateSettings,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
    private readonly now: () => Date = () => new Date(),
  ) {
    if (!settings.hostnames.length) throw new Error('the portal certificate needs at least one host name');
    if (!(settings.renewWhenRemaining > 0 && settings.renewWhenRemaining <= 1)) throw new Error('renewWhenRemaining must be in (0, 1]');
    if (!(settings.retryMs > 0 && settings.retryMs <= settings.checkMs)) throw new Error('retryMs must be in (0, checkMs]');
    this.certFile = join(settings.certDir, PORTAL_CERT_FILE);
    this.keyFile = join(settings.certDir, PORTAL_KEY_FILE);
  }

  get files(): { certFile: string; keyFile: string } {
    return { certFile: this.certFile, keyFile: this.keyFile };
  }

  /**
   * Checks now, then `checkMs` after each check, or sooner after a failure (`nextCheckInMs`). The timer is unref'd: it
   * never keeps the process alive.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async () => {
      await this.check();
      if (!this.running) return;
      this.timer = setTimeout(() => void loop(), this.nextCheckInMs());
      this.timer.unref();
    };
    void loop();
  }

  /** Stops the checks and waits for one in progress. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** When the next check is due: `checkMs`, or after `failures` in a row `retryMs × 2^(failures − 1)`, at most `checkMs`. */
  nextCheckInMs(): number {
    if (this.failures === 0) return this.settings.checkMs;
    return Math.min(this.settings.checkMs, this.settings.retryMs * 2 ** Math.min(this.failures - 1, 30));
  }

  /** The certificate in the files, or why there is none usable (`reason`). */
  current(): { state?: PortalCertificateState; reason?: string } {
    try {
      return { state: this.inspect({ chainPem: readFileSync(this.certFile, 'utf8'), keyPem: readFileSync(this.keyFile, 'utf8') }) };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return { reason: err.code === 'ENOENT' ? `${err.path ?? this.certFile}: no such file` : err.message };
    }
  }

  /** One check: renews when due. Never throws; concurrent calls share one check. */
  check(): Promise<PortalCheckOutcome> {
    this.inFlight ??= this.checkOnce().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async checkOnce(): Promise<PortalCheckOutcome> {
    const { state, reason } = this.current();
    this.expose(state);
    const now = this.now();
    if (state && now < state.renewAt) {
      this.failures = 0;
      return 'fresh';
    }
    const why = state ? `due since ${state.renewAt.toISOString()} (ends ${state.notAfter.toISOString()})` : reason;
    const started = Date.now();
    try {
      // The directory first: a source may keep its own state there (the ACME account key).
      mkdirSync(this.settings.certDir, { recursive: true, mode: 0o700 });
      const obtained = await this.source.obtain(this.settings.hostnames);
      const next = this.inspect(obtained);
      if (this.now() >= next.notAfter) throw new Error(`the new certificate ${next.serialNumber} is already expired`);
      await writeFileAtomically(this.keyFile, obtained.keyPem, 0o600);
      await writeFileAtomically(this.certFile, obtained.chainPem.endsWith('\n') ? obtained.chainPem : `${obtained.chainPem}\n`, 0o644);
      this.metrics?.counter('countersign_acme_renewals_total').inc({ outcome: 'success' });
      this.failures = 0;
      this.expose(next);
      this.logger.info(
        {
          hostnames: this.settings.hostnames,
          serialNumber: next.serialNumber,
          previousSerialNumber: state?.serialNumber,
          notAfter: next.notAfter.toISOString(),
          renewAt: next.renewAt.toISOString(),
          ms: Date.now() - started,
        },
        `portal certificate ${state ? 'renewed' : 'obtained'} from ${this.source.name} (${why})`,
      );
      return 'renewed';
    } catch (e) {
      this.metrics?.counter('countersign_acme_renewals_total').inc({ outcome: 'failure' });
      this.failures += 1;
      // The message only: an HTTP client's error object carries the request (signed payloads, headers).
      const error = String((e as Error)?.message ?? e).slice(0, 500);
      this.logger.error(
        {
          alert: 'portal-acme',
          hostnames: this.settings.hostnames,
          source: this.source.name,
          error,
          current: state && { serialNumber: state.serialNumber, notAfter: state.notAfter.toISOString() },
          failuresInARow: this.failures,
          retryInMs: this.nextCheckInMs(),
        },
        `portal certificate renewal failed (${why}); ${state ? 'the current certificate stays in place' : 'no certificate yet'}: ${error}`,
      );
      return 'failed';
    }
  }

  /** Parses and checks a certificate with its key: the leaf covers every host name and belongs to the key. */
  private inspect(c: PortalCertificate): PortalCertificateState {
    const first = c.chainPem.match(PEM_CERT)?.[0];
    if (!first) throw new Error(`${this.certFile}: no certificate`);
    const leaf = new X509Certificate(first);
    const missing = this.settings.hostnames.filter((h) => leaf.checkHost(h, { wildcards: false }) === undefined);
    if (missing.length) throw new Error(`certificate ${leaf.serialNumber} does not cover ${missing.join(', ')}`);
    if (!leaf.checkPrivateKey(createPrivateKey(c.keyPem))) throw new Error(`certificate ${leaf.serialNumber} does not belong to its key file`);
    const notBefore = new Date(leaf.validFrom);
    const notAfter = new Date(leaf.validTo);
    const lifetime = notAfter.getTime() - notBefore.getTime();
    return { serialNumber: leaf.serialNumber, notBefore, notAfter, renewAt: new Date(notAfter.getTime() - this.settings.renewWhenRemaining * lifetime) };
  }

  private expose(state?: PortalCertificateState): void {
    if (!this.metrics || !state) return;
    this.metrics.gauge('countersign_acme_certificate_expiry_timestamp_seconds').set(state.notAfter.getTime() / 1000);
    this.metrics.gauge('countersign_acme_renewal_due_timestamp_seconds').set(state.renewAt.getTime() / 1000);
  }
}
