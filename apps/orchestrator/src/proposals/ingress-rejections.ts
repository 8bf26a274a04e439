import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Metrics } from '@countersign/metrics';
import { METRICS } from '@countersign/nest';

/** Why the ingress refused a proposal: the bounded `reason` of `countersign_ingress_rejections_total`. */
export type IngressRejection = 'invalid' | 'unauthenticated' | 'forbidden' | 'too_large' | 'rate_limited';

/** The refusal an HTTP status says, for the statuses that refuse a proposal for what it is or who sent it (not a 409 or a 503). */
export function rejectionOf(status: number): IngressRejection | undefined {
  switch (status) {
    case 400:
    case 415:
      return 'invalid';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 413:
      return 'too_large';
    case 429:
      return 'rate_limited';
    default:
      return undefined;
  }
}

/** Counts one refused proposal (a no-op without metrics: a service built by hand in a test). */
export const countRejection = (metrics: Metrics | undefined, reason: IngressRejection): void =>
  metrics?.counter('countersign_ingress_rejections_total').inc({ reason });

const PROPOSALS_PATH = '/v1/proposals';

/**
 * Counts the refusals of `POST /v1/proposals` by the status the caller got, whatever refused it: the body reader
 * (413, malformed JSON), the authentication guard (401, 403 for a missing role), the controller and the service (400,
 * 403). Those happen before the orchestrator's own code or outside it, so the count is taken where every answer ends:
 * the HTTP server's finished response. The proposals topic's refusals are counted by `ProposalsService`.
 */
@Injectable()
export class IngressRejections implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: Server;
  private readonly onRequest = (req: IncomingMessage, res: ServerResponse) => {
    // Express rewrites `url` while it routes (mount paths); `originalUrl` is what the caller asked for.
    const path = ((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== PROPOSALS_PATH) return;
    res.once('finish', () => {
      const reason = rejectionOf(res.statusCode);
      if (reason) countRejection(this.metrics, reason);
    });
  };

  constructor(
    @Optional() private readonly adapterHost?: HttpAdapterHost,
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
  ) {}

  onApplicationBootstrap(): void {
    // No HTTP server (an application context without one) or no metrics: nothing to count.
    const server = this.adapterHost?.httpAdapter?.getHttpServer?.() as Server | undefined;
    if (!server || !this.metrics) return;
    this.server = server;
    server.on('request', this.onRequest);
  }

  onApplicationShutdown(): void {
    this.server?.off('request', this.onRequest);
  }
}
