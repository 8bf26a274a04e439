import { DynamicModule, Module } from '@nestjs/common';
import type { KeyRing } from '@countersign/audit-chain';
import { AuditChainService, HeadPolicyOptions } from './chain/audit-chain.service';
import type { HeadStore } from './chain/head-store';
import { AuditConsumer, SealKeys } from './ingest/audit.consumer';
import type { AuditLogRepository } from './log-store/audit-log.repository';
import { AuditController } from './query/audit.controller';
import { CompletenessMetrics, CompletenessSettings } from './completeness/completeness-metrics';
import { AUDIT_LOG, COMPLETENESS_SETTINGS, HEAD_POLICY, HEAD_STORE, KEY_RING, SEAL_KEYS } from './tokens';

/** The ports the audit writer runs on: the main chooses their adapters (`createPgAuditLog`, `createFileAuditLog`, `createFileHeadStore`). */
export interface AuditWriterOptions {
  log: AuditLogRepository;
  keys: KeyRing;
  /** The append-only second home of every tree head (WORM stand-in). */
  headStore: HeadStore;
  headPolicy?: HeadPolicyOptions;
  /** The window and interval of `countersign_audit_completeness_ratio` (defaults: 1 h, 5 min grace, every 60 s). */
  completeness?: Partial<CompletenessSettings>;
  /**
   * The policy engine's decision and contract-change keys (`DECISION_VERIFY_KEYS_FILE`, `CONTRACT_VERIFY_KEYS_FILE`) and
   * the review queue's keys (`APPROVAL_VERIFY_KEYS_FILE`) and the executor's outcome keys (`OUTCOME_VERIFY_KEYS_FILE`):
   * an event that claims to be theirs without their seal or signature is recorded apart (docs/adr/0040, 0042).
   */
  sealKeys: SealKeys;
}

/** The audit writer: every event once into the hash-chained log, signed tree heads, the auditors' API. */
@Module({})
export class AuditWriterModule {
  static register(o: AuditWriterOptions): DynamicModule {
    return {
      module: AuditWriterModule,
      controllers: [AuditController],
      providers: [
        AuditChainService,
        AuditConsumer,
        CompletenessMetrics,
        { provide: COMPLETENESS_SETTINGS, useValue: o.completeness ?? {} },
        { provide: SEAL_KEYS, useValue: o.sealKeys },
        { provide: AUDIT_LOG, useValue: o.log },
        { provide: KEY_RING, useValue: o.keys },
        { provide: HEAD_STORE, useValue: o.headStore },
        { provide: HEAD_POLICY, useValue: o.headPolicy ?? { everyEntries: 1_000, everyMs: 5_000 } },
      ],
      exports: [AuditChainService],
    };
  }
}
