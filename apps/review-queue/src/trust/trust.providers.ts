import { randomUUID } from 'node:crypto';
import type { Provider } from '@nestjs/common';
import type { VerifyKeys } from '@countersign/approval';
import { trustHealthProviders, TrustHealthState } from '@countersign/nest';
import type { LeaderLease } from '../degradation/leader-lease';
import { TRUST_LEASE, TRUST_MONITOR_SETTINGS, TRUST_SOURCES } from '../tokens';
import { CertificateFileSource, WatchedCertificate } from './certificate-file.source';
import { KeyFileSource, keyPairings, WatchedKeyFile } from './key-file.source';
import { DEFAULT_TRUST_MONITOR_SETTINGS, TrustMonitor, TrustMonitorSettings } from './trust-monitor.service';
import { TrustMetrics } from './trust-metrics';
import type { TrustSource } from './trust-source';

/** A rotation is due this long before the current key's end when no successor is listed (`TRUST_ROTATION_WARNING_MS`). */
export const DEFAULT_ROTATION_WARNING_MS = 7 * 24 * 3600_000;
/** A certificate is `rotation-due` this long before its end (`TRUST_CERT_WARNING_MS`): they live hours to weeks, and are renewed well before. */
export const DEFAULT_CERT_WARNING_MS = 2 * 3600_000;

/** The trust monitor's ports and what it watches, chosen by the main (Redis lease, key files) or the embedded host. */
export interface TrustMonitorOptions {
  /** `createTrustLease(redis)` distributed, `createInMemoryLeaderLease()` embedded. */
  lease: LeaderLease;
  /** Every service's key files (approval signing and verify, audit tree heads). */
  keyFiles: WatchedKeyFile[];
  /** Every party's certificates (Kafka mTLS clients, the broker, HTTPS): expiry and chain to the root. */
  certificates?: WatchedCertificate[];
  /** How long before a certificate's end it is `rotation-due` (ms). */
  certificateWarningMs?: number;
  /** Further sources (a test's, the embedded host's in-memory keys). */
  sources?: TrustSource[];
  /** How long before a key's end with no successor it is `rotation-due` (ms). */
  rotationWarningMs?: number;
  settings?: Partial<TrustMonitorSettings>;
  /** Where the control topic is read into (a test observes it); a new one when unset. */
  state?: TrustHealthState;
}

/**
 * The review queue's trust feature (ADR 0019): the monitor, and the follower of the topic it continues from, which applies
 * only verdicts sealed by the review queue's own keys (`verifyKeys`, docs/adr/0039).
 */
export function trustParts(o: TrustMonitorOptions, verifyKeys: VerifyKeys): Provider[] {
  const warnMs = o.rotationWarningMs ?? DEFAULT_ROTATION_WARNING_MS;
  const settings: TrustMonitorSettings = {
    ...DEFAULT_TRUST_MONITOR_SETTINGS,
    instanceId: `review-queue-${randomUUID().slice(0, 8)}`,
    ...o.settings,
  };
  return [
    TrustMonitor,
    TrustMetrics,
    ...trustHealthProviders('review-queue', verifyKeys, o.state),
    { provide: TRUST_LEASE, useValue: o.lease },
    {
      provide: TRUST_SOURCES,
      useValue: [
        ...o.keyFiles.map((k) => new KeyFileSource(k, warnMs)),
        ...keyPairings(o.keyFiles),
        ...(o.certificates ?? []).map((c) => new CertificateFileSource(c, o.certificateWarningMs ?? DEFAULT_CERT_WARNING_MS)),
        ...(o.sources ?? []),
      ],
    },
    { provide: TRUST_MONITOR_SETTINGS, useValue: settings },
  ];
}
