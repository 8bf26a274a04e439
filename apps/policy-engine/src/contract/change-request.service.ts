import { basename } from 'node:path';
import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
  Optional,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { EmitOptions, EventBus, EventCause } from '@countersign/bus';
import { Actor, AnyTopic, derivedEventId, EventData, newId, TOPICS } from '@countersign/contracts';
import { EVENT_BUS, Principal, TOKEN_REGISTRY, TokenRegistry } from '@countersign/nest';
import type { SigningKey } from '@countersign/keys';
import {
  acceptContractChange,
  approvalRefusal,
  changeDigest,
  compileContract,
  contractSigningKeyAt,
  KeyList,
  ProposalInput,
  RunningContract,
  signContractChange,
} from '@countersign/policy';
import { diff, diffReport, lint, readCorpus } from '../cli/commands';
import { maskText } from '@countersign/guardrails';
import { CHANGE_CONTROL, CHANGE_REQUESTS } from '../tokens';
import { ChangeOutcome, ChangeRequest, ChangeRequestStore, ContractChangeRequest, DecideResult, requestView, statusAt } from './change-request';

/** How change control runs. */
export interface ChangeControlSettings {
  /** How long a request may wait for its approval (24 h by default). */
  requestTtlSeconds: number;
  /** The proposals every request's diff runs over: JSON Lines, as `countersign policy diff` reads them. */
  diffCorpusPath: string;
  /** The keys an approved change is signed with (`CONTRACT_SIGNING_KEYS_FILE`); none: no contract change can be approved (503). */
  signingKeys?: KeyList<SigningKey>;
  now: () => Date;
  /** At most this many pending requests against the running version, per requester and in all (`DEFAULT_PENDING_CAPS`). */
  pendingCaps?: { perRequester: number; total: number };
}

/**
 * The default caps on pending requests (docs/adr/0006, addendum of 2026-12-05): each carries a whole contract into the
 * audit log, and the list shows 100. An admin rarely has more than one or two changes in review.
 */
export const DEFAULT_PENDING_CAPS = { perRequester: 5, total: 50 };

/** At most this many changed decisions are listed in a request's diff (the count is always complete). */
const MAX_DIFF_LINES = 200;

/** What the API shows of a request (the contract's text only when one request is asked for). */
export type ChangeRequestView = ReturnType<typeof view>;

/**
 * Four-eyes change control. A change is a request made by one authenticated admin, with the diff of what it
 * would change attached; it takes effect only when a *different* authenticated admin approves the digest
 * they reviewed, before the request expires and while the running contract is still the one it was made
 * against. Every step is an event on the bus (and so in the audit trail) before it takes effect.
 */
@Injectable()
export class ChangeRequestService {
  private readonly corpus: ProposalInput[];
  /** Requests are made one at a time on this instance: the caps are counted and the request stored with nothing between. */
  private making: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly contracts: RunningContract,
    @Inject(CHANGE_REQUESTS) private readonly requests: ChangeRequestStore,
    @Inject(CHANGE_CONTROL) private readonly settings: ChangeControlSettings,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    // Who holds admin now (the tokens file, followed while running): a request outlives no requester's admin token.
    @Optional() @Inject(TOKEN_REGISTRY) private readonly tokens?: TokenRegistry,
  ) {
    // Read once: a missing or unreadable corpus stops the service at boot, not a change request later.
    this.corpus = [...readCorpus(settings.diffCorpusPath)];
  }

  /** Asks for a new contract version; nothing changes until another admin approves. */
  async request(input: { kind: 'contract'; contract: string; reason: string }, by: Principal): Promise<ChangeRequestView> {
    const made = this.making.then(() => this.make(input, by));
    this.making = made.catch(() => undefined);
    return made;
  }

  private async make(input: { kind: 'contract'; contract: string; reason: string }, by: Principal): Promise<ChangeRequestView> {
    const current = this.contracts.current();
    const verdict = acceptContractChange(current, input.contract, 'the requested contract');
    if (!verdict.ok) throw new BadRequestException(verdict.reason);
    const next = verdict.contract;
    // What `policy lint` calls an error is refused here too: a condition on `parameters.amout` loaded and never fired
    // (config probe, 2026-12-05). Its warnings stay the author's to weigh.
    const errors = lint(next).filter((f) => f.level === 'error');
    if (errors.length)
      throw new BadRequestException(
        `the new contract has ${errors.length} lint error${errors.length === 1 ? '' : 's'} (countersign policy lint), keeping ${current.version}: ` +
          errors
            .slice(0, 5)
            .map((f) => `${f.where}: ${f.message}`)
            .join('; ') +
          (errors.length > 5 ? `; … ${errors.length - 5} more` : ''),
      );
    const now = this.settings.now();
    // Before the diff and the audit entry: a refused request costs neither (red team, L1: 279 pending in 15 s).
    const caps = this.settings.pendingCaps ?? DEFAULT_PENDING_CAPS;
    const pending = await this.requests.pendingCount(`contract:${current.hash}`, by.id, now);
    if (pending.byRequester >= caps.perRequester)
      throw new ConflictException(
        `${by.id} has ${pending.byRequester} change requests pending against ${current.version} (at most ${caps.perRequester}): ` +
          'withdraw one (POST /v1/policy/change-requests/{id}/reject) or wait until one is decided or expires',
      );
    if (pending.total >= caps.total)
      throw new ConflictException(
        `${pending.total} change requests are pending against ${current.version} (at most ${caps.total} in all): ` +
          'decide or withdraw some, or wait until they expire',
      );
    let compared: ReturnType<typeof diff>;
    const [before, after] = [this.contracts.compiledContract(), compileContract(next)];
    try {
      compared = diff(before, after, this.corpus);
    } catch (e) {
      throw new BadRequestException(`the requested contract could not be compared with ${current.version}: ${(e as Error).message}`);
    }
    const report = diffReport(compared, before, after);
    const hidden = report.length - 1 - MAX_DIFF_LINES;
    const shown = hidden > 0 ? [...report.slice(0, MAX_DIFF_LINES), `  … ${hidden} more`, report.at(-1)!] : report;
    const request: ContractChangeRequest = {
      id: newId(),
      kind: 'contract',
      status: 'pending',
      digest: changeDigest({ kind: 'contract', from: { version: current.version, hash: current.hash }, to: { version: next.version, hash: next.hash } }),
      base: `contract:${current.hash}`,
      reason: maskText(input.reason),
      requestedBy: actorOf(by),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.settings.requestTtlSeconds * 1000).toISOString(),
      contract: { fromVersion: current.version, fromHash: current.hash, toVersion: next.version, toHash: next.hash, text: input.contract },
      diff: { corpus: basename(this.settings.diffCorpusPath), total: compared.total, changed: compared.changes.length, output: maskText(shown.join('\n')) },
    };
    const requested = {
      changeRequestId: request.id,
      kind: request.kind,
      digest: request.digest,
      requestedBy: request.requestedBy,
      reason: request.reason,
      expiresAt: request.expiresAt,
      contract: { ...request.contract },
      diff: request.diff,
    };
    // Audited before it exists: a request the audit trail does not know can never be approved.
    await this.emitOr503(`change request ${request.id} was not created`, TOPICS.changeRequested, requested, {
      ...requestedEvent(request),
      actor: request.requestedBy,
      time: now,
    });
    await this.requests.create(request);
    return view(request, now, true, this.contracts.current().hash);
  }

  /** Approves a pending request: another admin than its requester, naming the digest they reviewed. */
  async approve(id: string, input: { digest: string; reason: string }, by: Principal): Promise<ChangeRequestView> {
    const r = await this.found(id);
    const now = this.settings.now();
    if (this.isRetry(r, 'approved', by) && r.digest === input.digest) return this.announce(r, now);
    const approvable = { id: r.id, requestedBy: r.requestedBy.id, digest: r.digest, status: r.status, expiresAt: r.expiresAt };
    const refusal = approvalRefusal(approvable, by.id, input.digest, now, (id) => this.tokens?.holds(id, 'admin') ?? true);
    if (refusal) throw refusal.code === 'own-request' ? new ForbiddenException(refusal.reason) : new ConflictException(refusal.reason);
    // Approved against version X, applied only onto X: an approval never rolls a newer version back.
    const running = this.contracts.current();
    if (running.hash !== r.contract.fromHash) {
      throw new ConflictException(`change ${r.id} was requested against ${r.contract.fromVersion}, but ${running.version} runs now: request the change again`);
    }
    // The change as stored is the change requested: its text compiles to the hash and version the digest names (red team,
    // 2026-12-07: a raise request edited in the policy engine's database was approved under its original digest, and
    // applied as edited). A text changed since would be signed below and taken by every service.
    const intact = acceptContractChange(running, r.contract.text, 'the stored contract');
    const to = intact.ok ? { version: intact.contract.version, hash: intact.contract.hash } : undefined;
    if (
      !to ||
      to.hash !== r.contract.toHash ||
      changeDigest({ kind: 'contract', from: { version: r.contract.fromVersion, hash: r.contract.fromHash }, to }) !== r.digest
    )
      throw new ConflictException(`change ${r.id} as stored is not the change that was requested (its text no longer matches its digest): not approved`);
    // Signed, or not approved at all: every service refuses an unsigned change (docs/adr/0038), so none is stored.
    const signer = contractSigningKeyAt(this.settings.signingKeys, now);
    if (!signer.ok) throw new ServiceUnavailableException(`change ${r.id} cannot be approved now: ${signer.reason}`);
    const decided = await this.requests.decide(r.id, { outcome: 'approved', by: actorOf(by), reason: maskText(input.reason), at: now });
    return this.announce(this.settled(decided, r), now);
  }

  /** Ends a pending request without applying it: `withdrawn` by its requester, `rejected` by another admin. */
  async reject(id: string, input: { reason: string }, by: Principal): Promise<ChangeRequestView> {
    const r = await this.found(id);
    const now = this.settings.now();
    const outcome: ChangeOutcome = r.requestedBy.id === by.id ? 'withdrawn' : 'rejected';
    if (this.isRetry(r, outcome, by)) return this.announce(r, now);
    const status = statusAt(r, now);
    if (status !== 'pending') throw new ConflictException(`change ${r.id} is ${status}, not pending`);
    const decided = await this.requests.decide(r.id, { outcome, by: actorOf(by), reason: maskText(input.reason), at: now });
    return this.announce(this.settled(decided, r), now);
  }

  async get(id: string): Promise<ChangeRequestView> {
    return view(await this.found(id), this.settings.now(), true, this.contracts.current().hash);
  }

  /** The most recent requests first, optionally only those in one status. */
  async list(status?: string, limit = 100): Promise<ChangeRequestView[]> {
    const now = this.settings.now();
    const running = this.contracts.current().hash;
    return (await this.requests.list(limit))
      .filter((r) => r.kind === 'contract')
      .map((r) => view(r, now, false, running))
      .filter((v) => !status || v.status === status);
  }

  private async found(id: string): Promise<ContractChangeRequest> {
    const r = await this.requests.get(id);
    if (!r) throw new NotFoundException(`no change request ${id}`);
    // Autonomy raises share the store and the four-eyes rules, but are decided where their flag is applied.
    if (r.kind !== 'contract') throw new ConflictException(`change ${id} is an autonomy raise: decide it at /v1/autonomy/raise-requests/${id}`);
    return r;
  }

  /** The same person deciding the same way again: the events may not have gone out, so they go out again (same ids). */
  private isRetry(r: ChangeRequest, outcome: ChangeOutcome, by: Principal): boolean {
    return r.status === outcome && r.decider?.id === by.id;
  }

  private settled(decided: DecideResult, r: ContractChangeRequest): ContractChangeRequest {
    if (decided.ok) return decided.request as ContractChangeRequest; // the same request, decided
    switch (decided.conflict) {
      case 'unknown':
        throw new NotFoundException(`no change request ${r.id}`);
      case 'base-taken':
        throw new ConflictException(
          `change ${decided.holder}, made against the same version ${r.contract.fromVersion}, was approved first: request this change again`,
        );
      default:
        throw new ConflictException(`change ${r.id} was decided or expired meanwhile`);
    }
  }

  /** Publishes the decision of a decided request and, for an approval, the change every instance applies. */
  private async announce(r: ContractChangeRequest, now: Date): Promise<ChangeRequestView> {
    const decider = r.decider!;
    const unsent = `change ${r.id} is ${r.status}, but the bus did not take the event yet: send the same request again to retry`;
    const at = { actor: decider, time: new Date(r.decidedAt!) };
    // Derived from the request's event (its id is derived from the request id): a retry emits the same ids.
    const decided = await this.emitOr503(
      unsent,
      TOPICS.changeDecided,
      {
        changeRequestId: r.id,
        kind: r.kind,
        decision: r.status as ChangeOutcome,
        digest: r.digest,
        decider,
        requestedBy: r.requestedBy,
        reason: r.decisionReason!,
      },
      { cause: requestedEvent(r), ...at },
    );
    if (r.status === 'approved') {
      const c = r.contract;
      const data = {
        fromVersion: c.fromVersion,
        toVersion: c.toVersion,
        hash: c.toHash,
        changeRequestId: r.id,
        requestedBy: r.requestedBy.id,
        approvedBy: decider.id,
        digest: r.digest,
        signature: this.signed(r),
        contract: c.text,
      };
      // Follows from the approval, but keyed by the contract, not the request: every change is on one
      // partition, so every instance applies them in the order they were approved.
      await this.emitOr503(unsent, TOPICS.contractChanged, data, {
        cause: decided,
        subject: CONTRACT_SUBJECT,
        ...at,
      });
    }
    return view(r, now, true, this.contracts.current().hash);
  }

  /** The signature every service checks before it applies the change; the same for the same request (a retry). */
  private signed(r: ContractChangeRequest): string {
    const c = r.contract;
    try {
      return signContractChange(this.settings.signingKeys, {
        changeRequestId: r.id,
        fromVersion: c.fromVersion,
        fromHash: c.fromHash,
        toVersion: c.toVersion,
        toHash: c.toHash,
        requestedBy: r.requestedBy.id,
        approvedBy: r.decider!.id,
        digest: r.digest,
        approvedAt: r.decidedAt!,
      });
    } catch (e) {
      throw new ServiceUnavailableException(
        `change ${r.id} is approved, but could not be signed (${(e as Error).message}): send the same request again to retry`,
      );
    }
  }

  /** Emits an event of this service; when the bus does not take it, answers 503 with what happened. */
  private async emitOr503<T extends AnyTopic>(unsent: string, topic: T, data: EventData<T>, options: EmitOptions) {
    try {
      return await this.bus.emit(topic, data, options);
    } catch {
      throw new ServiceUnavailableException(unsent);
    }
  }
}

/** The subject (and so the Kafka key) of every approved contract change. */
const CONTRACT_SUBJECT = 'operational-contract';

/**
 * The event that starts a request's chain: its own subject and correlation id, and an id derived from the
 * request id, so the decision that follows names it as its cause without reading it back.
 */
const requestedEvent = (r: Pick<ChangeRequest, 'id'>): EventCause => ({ id: derivedEventId(TOPICS.changeRequested, r.id), subject: r.id, correlationId: r.id });

const actorOf = (p: Principal): Actor => ({ id: p.id, kind: p.kind, roles: p.roles, authMethod: 'bearer-token' });

/** A contract change request as the API shows it; `runningHash`: the contract in force (a pending request made on another reads `superseded`). */
function view(r: ContractChangeRequest, now: Date, withText: boolean, runningHash: string) {
  const c = r.contract;
  const shown = requestView(r, now);
  return {
    ...shown,
    ...(shown.status === 'pending' && c.fromHash !== runningHash && { status: 'superseded' as const }),
    /** `hash`: the requested contract's content hash. */
    contract: { fromVersion: c.fromVersion, fromHash: c.fromHash, toVersion: c.toVersion, hash: c.toHash, ...(withText && { text: c.text }) },
    diff: r.diff,
  };
}
