import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { KeyRing, SigningUnavailableError, TreeHeadPolicy } from '@countersign/audit-chain';
import type { AuditEntry } from '@countersign/audit-chain';
import { EventBus } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { EVENT_BUS, LOGGER } from '@countersign/nest';
import type { AuditLogRepository, ChainTip } from '../log-store/audit-log.repository';
import { AUDIT_LOG, HEAD_POLICY, HEAD_STORE, KEY_RING } from '../tokens';
import type { HeadStore } from './head-store';

interface Pending {
  entry: AuditEntry;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export interface HeadPolicyOptions {
  everyEntries: number;
  everyMs: number;
}

/**
 * Appends entries to the hash-chained log in batches (concurrent deliveries share one transaction), and
 * publishes signed tree heads every N entries or T seconds: to the database, the append-only head
 * store, and the tree-head topic. With no valid signing key it stops signing and alerts (fail closed);
 * entries are still recorded, and /readyz reports the signer unhealthy.
 */
@Injectable()
export class AuditChainService implements OnApplicationBootstrap, OnApplicationShutdown {
  private queue: Pending[] = [];
  private flushing?: Promise<void>;
  private tip: ChainTip = { size: 0, root: '' };
  private policy!: TreeHeadPolicy;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(AUDIT_LOG) private readonly log: AuditLogRepository,
    @Inject(KEY_RING) private readonly keys: KeyRing,
    @Inject(HEAD_STORE) private readonly headStore: HeadStore,
    @Inject(HEAD_POLICY) private readonly headPolicy: HeadPolicyOptions,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap() {
    this.tip = await this.log.tip();
    const heads = await this.log.heads();
    this.policy = new TreeHeadPolicy(this.headPolicy.everyEntries, this.headPolicy.everyMs, new Date());
    if (heads.length) this.policy.published(heads[heads.length - 1].treeSize, new Date());
    this.timer = setInterval(
      () => void this.maybePublishHead().catch((e) => this.logger.error({ err: e }, 'tree head failed')),
      Math.min(this.headPolicy.everyMs, 1_000),
    );
    this.timer.unref();
  }

  /** A final head covers every entry written, so a log stopped right after its last entry still verifies. */
  async onApplicationShutdown() {
    clearInterval(this.timer);
    await this.flushing;
    await this.maybePublishHead(new Date(), true).catch((e) => this.logger.error({ err: e }, 'the final tree head failed'));
  }

  /** Resolves once the entry is durable (or was already there). */
  append(entry: AuditEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!this.flushing) this.flushing = new Promise<void>((r) => setImmediate(r)).then(() => this.flush());
    });
  }

  signerHealthy(): boolean {
    return this.keys.health(new Date()).healthy;
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, 1_000);
        try {
          this.tip = await this.log.appendBatch(batch.map((p) => p.entry));
          batch.forEach((p) => p.resolve());
        } catch (e) {
          batch.forEach((p) => p.reject(e));
        }
        await this.maybePublishHead();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Signs and publishes a head for the current tip when the policy says one is due (or, `final`, whenever the log grew). */
  async maybePublishHead(now = new Date(), final = false): Promise<void> {
    if (!this.policy || !(final ? this.policy.uncovered(this.tip.size) : this.policy.due(this.tip.size, now))) return;
    let head;
    try {
      head = this.keys.sign(this.tip.size, Buffer.from(this.tip.root, 'hex'), now);
    } catch (e) {
      if (e instanceof SigningUnavailableError) {
        this.logger.error({ alert: 'audit-tree-head-signing', reason: e.message }, 'tree heads are no longer signed: failing closed');
        return;
      }
      throw e;
    }
    this.policy.published(head.treeSize, now);
    await this.log.saveHead(head);
    this.headStore.write(head);
    // Every head is one link of the log's own chain, keyed by the log: consumers see them in order.
    await this.bus.emit(TOPICS.treeHeadPublished, head, { subject: 'audit-log', correlationId: 'audit-log', time: now });
  }
}
