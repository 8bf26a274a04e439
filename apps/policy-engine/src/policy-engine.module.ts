import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { DecisionSigner, VerifyKeys } from '@countersign/approval';
import { DynamicModule, Module } from '@nestjs/common';
import type { FlagReader } from '@countersign/flags';
import { AutonomyController } from './autonomy/autonomy.controller';
import { AutonomyService, AutonomySettings, FlagsInFlight } from './autonomy/autonomy.service';
import { DriftWatcher } from './autonomy/drift.watcher';
import { FlagControlConsumer } from './autonomy/flag-control.consumer';
import { degradationModeProviders, DegradationModeState, followContract, trustHealthProviders, TrustHealthState } from '@countersign/nest';
import type { VerifyKey } from '@countersign/keys';
import { AgentStats, KeyList, loadContractFile, RateLimiter, RunningContract } from '@countersign/policy';
import { ChangeRequestStore } from './contract/change-request';
import { ChangeControlSettings, ChangeRequestService } from './contract/change-request.service';
import { ChangeRequestsController } from './contract/change-requests.controller';
import { PolicyController } from './contract/policy.controller';
import { FlagNames } from './decision/autonomy';
import { DecisionConsumer } from './decision/decision.consumer';
import { DecisionRepository } from './decision/decision.repository';
import { DecisionService, DecisionSettings } from './decision/decision.service';
import {
  AUTONOMY,
  CHANGE_CONTROL,
  CHANGE_REQUESTS,
  DECISION_SETTINGS,
  DECISION_SIGNER,
  DECISIONS,
  FLAG_NAMES,
  FLAGS,
  INSTANCE_ID,
  RATE_LIMITER,
  AGENT_STATS,
} from './tokens';

/** The project's own operational contract, versioned in the repository. */
export const DEFAULT_CONTRACT_PATH = join(__dirname, '../contract/countersign.contract.yaml');

/** The proposals a change request's diff runs over by default: the project's scenario corpus. */
export const DEFAULT_DIFF_CORPUS_PATH = join(__dirname, '../../../libs/contracts/fixtures/scenarios.jsonl');

/** The action types a contract knows (e.g. to create their kill-switch flags). */
export const actionTypesOf = (path: string) => Object.keys(loadContractFile(path).actions).sort();

/**
 * The policy engine's ports are chosen by its main (Redis: `createRateLimiter`, `createAgentStats`; PostgreSQL: `createDecisionRepository`,
 * `createChangeRequestStore`) or by the embedded host, never here.
 */
export interface PolicyEngineOptions {
  contractPath: string;
  /** The keys that verify a contract change's signature (`CONTRACT_VERIFY_KEYS_FILE`, docs/adr/0038); none: no change applies. */
  contractChangeKeys?: KeyList<VerifyKey>;
  flags: FlagReader;
  flagNames: FlagNames;
  /** Rate and aggregate limits, shared by every instance. */
  rateLimiter: RateLimiter;
  /** Each agent's windowed statistics for the contract's anomaly rules, shared by every instance. */
  agentStats: AgentStats;
  /** The first decision per action, shared by every instance. */
  decisions: DecisionRepository;
  settings?: Partial<DecisionSettings>;
  /**
   * The review queue's verify keys (`APPROVAL_VERIFY_KEYS_FILE`): the degradation mode and trust health apply only when
   * sealed by one of them (docs/adr/0039).
   */
  controlFactKeys: VerifyKeys;
  /** The keys every decision is sealed with (`DECISION_SIGNING_KEYS_FILE`, docs/adr/0040): the newest valid now seals. */
  decisionSigner: DecisionSigner;
  /** Where the mode read from the control topic is kept (a bench or test observes it); a new one when unset. */
  degradationMode?: DegradationModeState;
  /** Where the trust health control topic is read into (ADR 0019; a test observes it); a new one when unset. */
  trustHealth?: TrustHealthState;
  /** Four-eyes change control: the shared change-request store and its settings (`signingKeys`: `CONTRACT_SIGNING_KEYS_FILE`). */
  changeControl: { requests: ChangeRequestStore } & Partial<ChangeControlSettings>;
  /**
   * Autonomy changes (ADR 0014): the control topic's entries (the same `FlagControls` that `flags` reads
   * through, `withFlagControls`) and the flag server's admin side (none: lowering and raising answer 503).
   */
  autonomy: Pick<AutonomySettings, 'controls' | 'admin'> & Partial<AutonomySettings> & { driftPollMs?: number };
}

/** Lanes for proposed actions, under the operational contract, the flags and the decision inputs. */
@Module({})
export class PolicyEngineModule {
  static register(o: PolicyEngineOptions): DynamicModule {
    const instance = randomUUID().slice(0, 8);
    return {
      module: PolicyEngineModule,
      controllers: [PolicyController, ChangeRequestsController, AutonomyController],
      providers: [
        // The contract file (invalid: the service does not start), then each approved change, replayed at every start.
        ...followContract(RunningContract.fromFile(o.contractPath), 'policy-engine', instance, o.contractChangeKeys),
        ChangeRequestService,
        DecisionService,
        DecisionConsumer,
        AutonomyService,
        FlagControlConsumer,
        DriftWatcher,
        FlagsInFlight,
        {
          provide: AUTONOMY,
          useValue: {
            requestTtlSeconds: o.changeControl.requestTtlSeconds ?? 24 * 3600,
            applyTimeoutMs: 5_000,
            now: o.changeControl.now ?? (() => new Date()),
            ...o.autonomy,
          },
        },
        { provide: FLAGS, useValue: o.flags },
        { provide: FLAG_NAMES, useValue: o.flagNames },
        { provide: RATE_LIMITER, useValue: o.rateLimiter },
        { provide: AGENT_STATS, useValue: o.agentStats },
        { provide: DECISIONS, useValue: o.decisions },
        { provide: DECISION_SETTINGS, useValue: { ...o.settings } },
        { provide: DECISION_SIGNER, useValue: o.decisionSigner },
        // The degradation mode follows the control topic (ADR 0013): no setting, no environment constant.
        ...degradationModeProviders('policy-engine', o.controlFactKeys, o.degradationMode),
        // So does the trust stack's health (ADR 0019): `TRUST_STACK_HEALTHY` is gone.
        ...trustHealthProviders('policy-engine', o.controlFactKeys, o.trustHealth),
        { provide: INSTANCE_ID, useValue: instance },
        { provide: CHANGE_REQUESTS, useValue: o.changeControl.requests },
        {
          provide: CHANGE_CONTROL,
          useValue: {
            requestTtlSeconds: o.changeControl.requestTtlSeconds ?? 24 * 3600,
            diffCorpusPath: o.changeControl.diffCorpusPath ?? DEFAULT_DIFF_CORPUS_PATH,
            signingKeys: o.changeControl.signingKeys,
            now: o.changeControl.now ?? (() => new Date()),
          } satisfies ChangeControlSettings,
        },
      ],
    };
  }
}
