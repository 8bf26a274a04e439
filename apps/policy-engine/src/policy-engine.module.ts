import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DynamicModule, Module } from '@nestjs/common';
import type { FlagReader } from '@countersign/flags';
import { loadContractFile, RateLimiter } from '@countersign/policy';
import { ChangeRequestStore } from './contract/change-request';
import { ChangeControlSettings, ChangeRequestService } from './contract/change-request.service';
import { ChangeRequestsController } from './contract/change-requests.controller';
import { ContractChangeService } from './contract/contract-change.service';
import { ContractStore } from './contract/contract.store';
import { PolicyController } from './contract/policy.controller';
import { FlagNames } from './decision/autonomy';
import { DecisionConsumer } from './decision/decision.consumer';
import { DecisionRepository } from './decision/decision.repository';
import { DecisionService, DecisionSettings } from './decision/decision.service';
import { CHANGE_CONTROL, CHANGE_REQUESTS, CONTRACT_PATH, DECISION_SETTINGS, DECISIONS, FLAG_NAMES, FLAGS, INSTANCE_ID, RATE_LIMITER } from './tokens';

/** The project's own operational contract, versioned in the repository. */
export const DEFAULT_CONTRACT_PATH = join(__dirname, '../contract/countersign.contract.yaml');

/** The proposals a change request's diff runs over by default: the project's scenario corpus. */
export const DEFAULT_DIFF_CORPUS_PATH = join(__dirname, '../../../libs/contracts/fixtures/scenarios.jsonl');

/** The action types a contract knows (e.g. to create their kill-switch flags). */
export const actionTypesOf = (path: string) => Object.keys(loadContractFile(path).actions).sort();

/**
 * The policy engine's ports are chosen by its main (Redis: `createRateLimiter`; PostgreSQL: `createDecisionRepository`,
 * `createChangeRequestStore`) or by the embedded host, never here.
 */
export interface PolicyEngineOptions {
  contractPath: string;
  flags: FlagReader;
  flagNames: FlagNames;
  /** Rate and aggregate limits, shared by every instance. */
  rateLimiter: RateLimiter;
  /** The first decision per action, shared by every instance. */
  decisions: DecisionRepository;
  settings?: Partial<DecisionSettings>;
  /** Four-eyes change control: the shared change-request store and its settings. */
  changeControl: { requests: ChangeRequestStore } & Partial<ChangeControlSettings>;
}

/** Lanes for proposed actions, under the operational contract, the flags and the decision inputs. */
@Module({})
export class PolicyEngineModule {
  static register(o: PolicyEngineOptions): DynamicModule {
    return {
      module: PolicyEngineModule,
      controllers: [PolicyController, ChangeRequestsController],
      providers: [
        ContractStore,
        ContractChangeService,
        ChangeRequestService,
        DecisionService,
        DecisionConsumer,
        { provide: CONTRACT_PATH, useValue: o.contractPath },
        { provide: FLAGS, useValue: o.flags },
        { provide: FLAG_NAMES, useValue: o.flagNames },
        { provide: RATE_LIMITER, useValue: o.rateLimiter },
        { provide: DECISIONS, useValue: o.decisions },
        { provide: DECISION_SETTINGS, useValue: { degradationMode: 'normal', trustStackHealthy: true, ...o.settings } },
        { provide: INSTANCE_ID, useValue: randomUUID().slice(0, 8) },
        { provide: CHANGE_REQUESTS, useValue: o.changeControl.requests },
        {
          provide: CHANGE_CONTROL,
          useValue: {
            requestTtlSeconds: o.changeControl.requestTtlSeconds ?? 24 * 3600,
            diffCorpusPath: o.changeControl.diffCorpusPath ?? DEFAULT_DIFF_CORPUS_PATH,
            now: o.changeControl.now ?? (() => new Date()),
          } satisfies ChangeControlSettings,
        },
      ],
    };
  }
}
