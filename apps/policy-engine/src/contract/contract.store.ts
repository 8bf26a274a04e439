import { Inject, Injectable } from '@nestjs/common';
import { compileContract, CompiledContract, LoadedContract, loadContractFile, parseContract } from '@countersign/policy';
import type { Logger } from '@countersign/logging';
import { LOGGER } from '@countersign/nest';
import { CONTRACT_PATH } from '../tokens';

/**
 * The running operational contract, loaded and validated at boot (an invalid one stops the service), and
 * replaced only by an approved change that validates (see ChangeRequestService and ContractChangeService).
 */
@Injectable()
export class ContractStore {
  private loaded: LoadedContract;
  private compiled: CompiledContract;

  constructor(
    @Inject(CONTRACT_PATH) path: string,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.loaded = loadContractFile(path);
    this.compiled = compileContract(this.loaded);
  }

  current(): LoadedContract {
    return this.loaded;
  }

  compiledContract(): CompiledContract {
    return this.compiled;
  }

  /** Applies an approved version; a text that does not validate, or is not the approved content (`hash`), keeps the running one. */
  apply(text: string, source: string, hash: string): boolean {
    try {
      const next = parseContract(text, source);
      if (next.hash !== hash) throw new Error(`its content hash ${next.hash} is not the approved ${hash}`);
      if (next.hash === this.loaded.hash) return true;
      this.loaded = next;
      this.compiled = compileContract(next);
      this.logger.info({ contractVersion: next.version, hash: next.hash }, 'operational contract replaced');
      return true;
    } catch (e) {
      this.logger.error({ err: e }, `refused a contract change from ${source}: keeping ${this.loaded.version}`);
      return false;
    }
  }
}
