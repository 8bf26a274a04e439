import { useContractNationalIds } from '@countersign/guardrails';
import { validAt, VerifyKey } from '@countersign/keys';
import { changeDigest, compareVersions } from './change-control';
import { ContractChangeClaims, KeyList, verifyContractChange } from './change-signature';
import { LoadedContract, loadContractFile, parseContract } from './contract';
import { compileContract, CompiledContract } from './evaluate';

/** How far a signer's clock may run ahead of (or, between two approvals, behind) a verifier's. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** What an approved contract change says, as `policy.contract.changed.v1` carries it. */
export interface ApprovedContractChange {
  fromVersion: string;
  toVersion: string;
  hash: string;
  changeRequestId: string;
  requestedBy: string;
  approvedBy: string;
  digest?: string;
  /** The policy engine's signature over the approval (`signContractChange`); a change without one is not applied. */
  signature?: string;
  contract: string;
}

/**
 * What applying a change did: `applied`; `other-base`, a change made on another version than the running one (a
 * replay of history after a restart, or after a newer file was deployed: never a rollback, nothing to report); or
 * `refused`, with why (not approved as this step, or a text that is not the approved contract: worth an alert).
 */
export type ContractChangeOutcome =
  /** `over`: the version it replaced when the change was made on another base (a newer approved contract adopted over the file's). */
  { kind: 'applied'; contract: LoadedContract; over?: string } | { kind: 'other-base' } | { kind: 'refused'; reason: string };

/**
 * The operational contract a service runs: loaded at boot from the file the policy engines load (an invalid one stops
 * the service), then replaced by each approved change exactly as every other service replaces it, so the policy engine
 * decides, the orchestrator validates and the review queue holds its SLAs and thresholds under one version
 * (docs/adr/0006). Every service follows the changes with one consumer (`ContractChangesConsumer`, libs/platform/nest).
 * Its national-id patterns (`masking.nationalIds`) become the process's masking (libs/guardrails `useContractNationalIds`).
 */
export class RunningContract {
  private loaded: LoadedContract;
  private compiled: CompiledContract;
  private readonly listeners: Array<(contract: LoadedContract) => void> = [];
  /** The change requests applied so far: each is applied once, whatever base it names later (a replay after a rollback). */
  private readonly applied = new Set<string>();
  /**
   * The newest approval time of every genuine change read so far, applied or passed over as history: a change is
   * approved after those before it on the topic, so one dated earlier was signed by a key dated back (a retired one).
   */
  private newestApproval = -Infinity;

  constructor(contract: LoadedContract) {
    this.loaded = contract;
    this.compiled = compileContract(contract);
    useContractNationalIds(contract.masking?.nationalIds ?? []);
  }

  /** The contract file at `path` (validated: a bad one throws, and the service does not start). */
  static fromFile(path: string): RunningContract {
    return new RunningContract(loadContractFile(path));
  }

  current(): LoadedContract {
    return this.loaded;
  }

  /** Whether this process applied change request `changeRequestId` (at start, replaying the changes, or since). */
  wasApplied(changeRequestId: string): boolean {
    return this.applied.has(changeRequestId);
  }

  compiledContract(): CompiledContract {
    return this.compiled;
  }

  /** Calls `listener` with each contract applied from now on. */
  onChange(listener: (contract: LoadedContract) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Applies a change only as approved: made on top of the running version, signed by a contract-change key in `keys`
   * (docs/adr/0038) over exactly this request, base, candidate, requester, approver and digest, approved by someone
   * other than its requester, its digest naming this base and this candidate, applied once, and the text being that
   * candidate. Anything else keeps the running version: a replay of an older change, an event from before change
   * requests (no digest) or before signatures, a forged one. Without `keys` no change is applied (fail closed).
   */
  apply(change: ApprovedContractChange, keys: KeyList<VerifyKey> | undefined): ContractChangeOutcome {
    const running = this.loaded;
    const onBase = change.fromVersion === running.version;
    // Made on another base: history this process has moved past, unless it is newer than what runs. That is an approved
    // contract whose base this process never ran: the upgrade of a deployment shipped another contract file than the
    // one the change was made on. Versions only go up (change-control.ts), so it is the deployment's newest approved
    // contract, and it runs; the file's would have rolled the approved change back, unseen (upgrade probe, 2026-12-05:
    // every refund was sent to review by an approved change, and after the upgrade a refund ran on its own).
    if (!onBase && !(compareVersions(change.toVersion, running.version) > 0)) {
      this.noteApproval(change, keys);
      return { kind: 'other-base' };
    }
    const base = onBase ? { version: running.version, hash: running.hash } : undefined;
    const approved = base && changeDigest({ kind: 'contract', from: base, to: { version: change.toVersion, hash: change.hash } });
    if ((approved && change.digest !== approved) || change.requestedBy === change.approvedBy)
      return { kind: 'refused', reason: `it is not an approved change of ${change.fromVersion}` };
    if (!keys) return { kind: 'refused', reason: 'this service has no contract-change verify keys (CONTRACT_VERIFY_KEYS_FILE): it applies no change' };
    const signed = verifyContractChange(change.signature, keys);
    if (!signed.ok) return { kind: 'refused', reason: `it is not signed as approved: ${signed.reason}` };
    const differs = claimsDiffer(signed.claims, change, base?.hash);
    if (differs) return { kind: 'refused', reason: `its signature is for another change (${differs})` };
    // Off its base, the digest is checked against the base the signature names.
    const signedDigest = changeDigest({
      kind: 'contract',
      from: { version: change.fromVersion, hash: signed.claims.fromHash },
      to: { version: change.toVersion, hash: change.hash },
    });
    if (change.digest !== signedDigest) return { kind: 'refused', reason: `it is not an approved change of ${change.fromVersion}` };
    if (this.applied.has(change.changeRequestId)) return { kind: 'refused', reason: `change ${change.changeRequestId} was applied before: a replay` };
    // A key's window is read at the time the signature states, which its signer chose: a retired key (or one leaked
    // from a backup) could sign a change dated back into its window (trust probe, 2026-12-05: a key expired in 2025
    // applied a change "approved" in it). Changes are approved one after another, so one dated before a genuine change
    // read before it is refused: a retired key reaches no further back than the newest change on the topic.
    const approvedAt = Date.parse(signed.claims.approvedAt);
    if (!Number.isFinite(approvedAt)) return { kind: 'refused', reason: `its approval time ${JSON.stringify(signed.claims.approvedAt)} is not a time` };
    if (approvedAt < this.newestApproval - CLOCK_SKEW_MS)
      return {
        kind: 'refused',
        reason: `it was approved at ${signed.claims.approvedAt}, before a change approved earlier on the topic (at ${new Date(this.newestApproval).toISOString()})`,
      };
    // Adopted over another base only under a key valid now: the deployment's own recent approval, not history a
    // retired key could write (red team of this change, 2026-12-05: a key of 2020 installed version 9999 over the file).
    if (!onBase && !validAt(signed.key, new Date()))
      return {
        kind: 'refused',
        reason: `it was made on ${change.fromVersion}, not the running ${running.version}, and its key ${signed.key.keyId} is not valid now: request it again on ${running.version}`,
      };
    let next: LoadedContract;
    try {
      next = parseContract(change.contract, `change ${change.changeRequestId}`);
    } catch (e) {
      return { kind: 'refused', reason: `its contract does not validate: ${(e as Error).message}` };
    }
    if (next.hash !== change.hash || next.version !== change.toVersion)
      return { kind: 'refused', reason: `its contract is not the approved ${change.toVersion} (${change.hash})` };
    this.compiled = compileContract(next);
    this.loaded = next;
    this.applied.add(change.changeRequestId);
    this.newestApproval = Math.max(this.newestApproval, approvedAt);
    useContractNationalIds(next.masking?.nationalIds ?? []);
    for (const listener of this.listeners) listener(next);
    return { kind: 'applied', contract: next, ...(!onBase && { over: running.version }) };
  }

  /** A genuine change passed over as history still moves the newest approval time (`newestApproval`). */
  private noteApproval(change: ApprovedContractChange, keys: KeyList<VerifyKey> | undefined): void {
    if (!keys || change.requestedBy === change.approvedBy) return;
    const signed = verifyContractChange(change.signature, keys);
    if (!signed.ok || claimsDiffer(signed.claims, change)) return;
    const approvedAt = Date.parse(signed.claims.approvedAt);
    if (Number.isFinite(approvedAt)) this.newestApproval = Math.max(this.newestApproval, approvedAt);
  }
}

/** The fields in which a change's signed claims and the change differ (comma-separated), or undefined when none do. */
function claimsDiffer(c: ContractChangeClaims, change: ApprovedContractChange, fromHash?: string): string | undefined {
  const differs = (
    [
      ['changeRequestId', c.changeRequestId, change.changeRequestId],
      ['fromVersion', c.fromVersion, change.fromVersion],
      ['fromHash', c.fromHash, fromHash ?? c.fromHash],
      ['toVersion', c.toVersion, change.toVersion],
      ['toHash', c.toHash, change.hash],
      ['requestedBy', c.requestedBy, change.requestedBy],
      ['approvedBy', c.approvedBy, change.approvedBy],
      ['digest', c.digest, change.digest],
    ] as const
  ).filter(([, a, b]) => a !== b);
  return differs.length ? differs.map(([f]) => f).join(', ') : undefined;
}

/**
 * Whether a contract change on the bus is the policy engine's genuine announcement, read on its own, by a service that
 * applies it to no running version (the audit writer, which records it): its signature verifies and names exactly this
 * change (request, base version, candidate version and hash, requester, approver, digest), requester and approver
 * differ, and its text is the approved candidate. What `apply` checks besides (the base's hash and the digest against
 * the running base, replays) needs a running contract.
 */
export function genuineContractChange(change: ApprovedContractChange, keys: KeyList<VerifyKey> | undefined): { ok: true } | { ok: false; reason: string } {
  if (!keys) return { ok: false, reason: 'no contract-change verify keys here (CONTRACT_VERIFY_KEYS_FILE): the change cannot be checked' };
  const signed = verifyContractChange(change.signature, keys);
  if (!signed.ok) return { ok: false, reason: `the contract change is not signed as approved: ${signed.reason}` };
  const differs = claimsDiffer(signed.claims, change);
  if (differs) return { ok: false, reason: `the contract change's signature is for another change (${differs})` };
  if (change.requestedBy === change.approvedBy) return { ok: false, reason: 'the contract change was approved by its requester' };
  let candidate: LoadedContract;
  try {
    candidate = parseContract(change.contract, `change ${change.changeRequestId}`);
  } catch (e) {
    return { ok: false, reason: `the contract change's text does not validate: ${(e as Error).message.slice(0, 500)}` };
  }
  if (candidate.hash !== change.hash || candidate.version !== change.toVersion)
    return { ok: false, reason: `the contract change's text is not the approved ${change.toVersion} (${change.hash})` };
  return { ok: true };
}
