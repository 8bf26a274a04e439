import { join } from 'node:path';
import { DynamicModule, Module } from '@nestjs/common';
import type { FlagReader } from '@countersign/flags';
import { ContractStore } from './contract/contract.store';
import { loadContract } from './contract/operational-contract';
import { PolicyController } from './contract/policy.controller';
import { DecisionConsumer } from './decision/decision.consumer';
import { DecisionService } from './decision/decision.service';
import { AUTONOMY_PREFIX, CONTRACT_PATH, FLAGS } from './tokens';

/** The project's own operational contract, versioned in the repository. */
export const DEFAULT_CONTRACT_PATH = join(__dirname, '../contract/spine.contract.yaml');

/** The action types a contract knows (e.g. to create their kill-switch flags). */
export const actionTypesOf = (path: string) => Object.keys(loadContract(path).actions).sort();

export interface PolicyEngineOptions {
  contractPath: string;
  flags: FlagReader;
  flagNames: { autonomyPrefix: string };
}

/** Lanes for proposed actions, under the operational contract and the autonomy flags. */
@Module({})
export class PolicyEngineModule {
  static register(options: PolicyEngineOptions): DynamicModule {
    return {
      module: PolicyEngineModule,
      controllers: [PolicyController],
      providers: [
        ContractStore,
        DecisionService,
        DecisionConsumer,
        { provide: CONTRACT_PATH, useValue: options.contractPath },
        { provide: FLAGS, useValue: options.flags },
        { provide: AUTONOMY_PREFIX, useValue: options.flagNames.autonomyPrefix },
      ],
    };
  }
}
