import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, Provider } from '@nestjs/common';
import type { Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import { LOGGER, METRICS } from '@countersign/nest';
import { PortalCertificateManager, PortalCertificateSettings } from './portal-certificate-manager';
import type { PortalCertificateSource } from './portal-certificate.source';

/** The portal certificate feature's port and settings, chosen by the main (`portalTlsOptions`) or a test. */
export interface PortalTlsOptions {
  /** `createAcmeCertificateSource(…)` (an ACME CA), or `createLocalCaCertificateSource(…)` (the project's PKI). */
  source: PortalCertificateSource;
  settings: PortalCertificateSettings;
}

export const PORTAL_TLS_OPTIONS = Symbol('PortalTlsOptions');

/** Runs the portal certificate manager while the review queue runs (ADR 0027). */
@Injectable()
export class PortalTlsService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly manager: PortalCertificateManager;

  constructor(
    @Inject(PORTAL_TLS_OPTIONS) private readonly options: PortalTlsOptions,
    @Inject(LOGGER) logger: Logger,
    @Inject(METRICS) metrics: Metrics,
  ) {
    this.manager = new PortalCertificateManager(options.source, options.settings, logger, metrics);
  }

  onApplicationBootstrap(): void {
    this.manager.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.manager.stop();
    this.options.source.close?.();
  }
}

export function portalTlsParts(options: PortalTlsOptions): Provider[] {
  return [{ provide: PORTAL_TLS_OPTIONS, useValue: options }, PortalTlsService];
}
