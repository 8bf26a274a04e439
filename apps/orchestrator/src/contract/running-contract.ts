import { changeDigest, compileContract, CompiledContract, LoadedContract, loadContractFile, parseContract } from '@countersign/policy';
import type { Logger } from '@countersign/logging';

/** What an approved contract change says, as `policy.contract.changed.v1` carries it. */
export interface ApprovedContractChange {
  fromVersion: string;
  toVersion: string;
  hash: string;
  changeRequestId: string;
  requestedBy: string;
  approvedBy: string;
  digest?: string;
  contract: string;
}

/**
 * The operational contract the orchestrator checks parameters against: loaded at boot from the file the
 * policy engines load (an invalid one stops the service), then replaced by each approved change, as the
 * policy engines apply them, so both sides validate against the same version.
 */
export class RunningContract {
  private loaded: LoadedContract;
  private compiled: CompiledContract;

  constructor(
    path: string,
    private readonly logger: Logger,
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

  /**
   * Applies a change exactly when the policy engines do (their ContractChangeService): made on top of the
   * running version, approved by someone other than its requester, its digest naming this base and this
   * candidate, and the text being that candidate. Anything else keeps the running version: a replay of an
   * older change (after a restart), an event from before change requests (no digest), a forged one.
   */
  apply(change: ApprovedContractChange): boolean {
    const running = this.loaded;
    if (change.fromVersion !== running.version) return false;
    const approved = changeDigest({
      kind: 'contract',
      from: { version: running.version, hash: running.hash },
      to: { version: change.toVersion, hash: change.hash },
    });
    try {
      if (change.digest !== approved || change.requestedBy === change.approvedBy) throw new Error(`it is not an approved change of ${running.version}`);
      const next = parseContract(change.contract, `change ${change.changeRequestId}`);
      if (next.hash !== change.hash || next.version !== change.toVersion)
        throw new Error(`its contract is not the approved ${change.toVersion} (${change.hash})`);
      this.compiled = compileContract(next);
      this.loaded = next;
      this.logger.info({ contractVersion: next.version, hash: next.hash }, 'operational contract replaced: parameters are checked against it');
      return true;
    } catch (e) {
      this.logger.error({ err: e, changeRequestId: change.changeRequestId }, `refused contract change ${change.changeRequestId}: keeping ${running.version}`);
      return false;
    }
  }
}
