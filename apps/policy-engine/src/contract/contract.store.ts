import { Inject, Injectable } from '@nestjs/common';
import { CONTRACT_PATH } from '../tokens';
import { loadContract, OperationalContract } from './operational-contract';

/** The running operational contract, loaded and validated at boot (an invalid one stops the service). */
@Injectable()
export class ContractStore {
  private contract: OperationalContract;

  constructor(@Inject(CONTRACT_PATH) path: string) {
    this.contract = loadContract(path);
  }

  current(): OperationalContract {
    return this.contract;
  }
}
