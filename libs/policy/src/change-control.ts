import { canonicalDigest } from '@countersign/contracts';
import { ContractError, LISTED_SECTIONS, LoadedContract, parseContract } from './contract';
import type { OperationalContract } from './contract.types';

/**
 * What a change request changes: `contract` (a new version of the operational contract) or `autonomy` (a
 * raise of a kill switch or an autonomy flag), through the same request and approval.
 */
export type ChangeKind = 'contract' | 'autonomy';

/** A contract version as a change names it: its version and its content hash. */
export interface ContractRef {
  version: string;
  hash: string;
}

/** What a contract change does: from the version it was requested against, to the candidate. */
export interface ContractChangeSubject {
  kind: 'contract';
  from: ContractRef;
  to: ContractRef;
}

/** What an autonomy raise does: one flag, from the approved value it was requested against, to a looser one. */
export interface AutonomyChangeSubject {
  kind: 'autonomy';
  flag: string;
  control: 'kill-switch' | 'autonomy';
  from: string;
  to: string;
}

/**
 * The change digest: SHA-256 (hex) over the RFC 8785 canonical JSON of what the change does — its kind,
 * the state it was requested against and the state it makes. An approval names it, so an approver
 * approves exactly this step and no other: not another candidate, not the same candidate on another base.
 */
export function changeDigest(change: ContractChangeSubject | AutonomyChangeSubject): string {
  if (change.kind === 'autonomy') {
    return canonicalDigest({ kind: change.kind, flag: change.flag, control: change.control, from: change.from, to: change.to });
  }
  const what = { kind: change.kind, from: { version: change.from.version, hash: change.from.hash }, to: { version: change.to.version, hash: change.to.hash } };
  return canonicalDigest(what);
}

export type ChangeResult = { ok: true; contract: LoadedContract } | { ok: false; reason: string };

/**
 * Whether a candidate contract may replace the running one: it validates, it differs from the running
 * one, and new content comes with a new version. Who asked and who approved is not the candidate's to
 * say: that is the change request's (four eyes, authenticated principals, see `approvalRefusal`).
 */
export function acceptContractChange(current: LoadedContract, candidateText: string, file: string): ChangeResult {
  let candidate: LoadedContract;
  try {
    candidate = parseContract(candidateText, file);
  } catch (e) {
    return { ok: false, reason: `the new contract is invalid, keeping ${current.version}: ${e instanceof ContractError ? e.message : (e as Error).message}` };
  }
  if (candidate.hash === current.hash) return { ok: false, reason: `the new contract is the running one (${current.version}): nothing to change` };
  if (candidate.version === current.version) return { ok: false, reason: `the new contract changes content but keeps version ${current.version}` };
  // Decisions and the audit cite a contract by its version: a version names one content, so versions only go up (an
  // earlier label, with other content, would make "contract 2026.12.1" mean two things).
  if (compareVersions(candidate.version, current.version) <= 0) {
    return { ok: false, reason: `the new contract's version ${candidate.version} is not above the running ${current.version}: versions only go up` };
  }
  return { ok: true, contract: candidate };
}

/**
 * Which controls a contract change removes, adds or changes, section by section: lines for the change's report, before
 * the decisions that change. The decisions over a corpus only show what its proposals reach: deleting `guardrails` and
 * `degradation` let an IBAN in a customer reply run on its own and took every backlog cap away, while the report said
 * "0 of 24 decisions change" and a second admin approved it (config probe, 2026-12-05).
 */
export function controlChanges(before: OperationalContract, after: OperationalContract): string[] {
  const lines: string[] = [];
  const same = (a: unknown, b: unknown) => canonicalDigest(a ?? null) === canonicalDigest(b ?? null);
  const list = (names: string[]) => names.join(', ');
  const sections = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => !['version', 'hash', 'file'].includes(k)).sort();
  for (const section of sections) {
    const [a, b] = [(before as unknown as Record<string, unknown>)[section], (after as unknown as Record<string, unknown>)[section]];
    if (same(a, b)) continue;
    if (b === undefined) {
      lines.push(`  control removed: the whole ${section} section${isEntries(a) ? ` (${list(entryNames(section, a))})` : ''}`);
      continue;
    }
    if (a === undefined) {
      lines.push(`  control added: the ${section} section${isEntries(b) ? ` (${list(entryNames(section, b))})` : ''}`);
      continue;
    }
    if (!isEntries(a) || !isEntries(b)) {
      lines.push(`  control changed: ${section}`);
      continue;
    }
    const [was, now] = [entriesByName(section, a), entriesByName(section, b)];
    const removed = [...was.keys()].filter((k) => !now.has(k));
    const added = [...now.keys()].filter((k) => !was.has(k));
    const changed = [...now.keys()].filter((k) => was.has(k) && !same(was.get(k), now.get(k)));
    if (removed.length) lines.push(`  control removed: ${section} ${list(removed)}`);
    if (added.length) lines.push(`  control added: ${section} ${list(added)}`);
    if (changed.length) lines.push(`  control changed: ${section} ${list(changed)}`);
    // Order decides among entries (of two rules sending one type to review with one quorum, the first sets the
    // reviewers): moving a weaker rule first changed who reviews, with no other line (red team, 2026-12-05).
    const kept = [...now.keys()].filter((k) => was.has(k));
    const keptBefore = [...was.keys()].filter((k) => now.has(k));
    if (Array.isArray(b) && kept.join('\u0000') !== keptBefore.join('\u0000')) lines.push(`  control reordered: ${section} (now ${list(kept)})`);
  }
  return lines;
}

type Entries = Record<string, unknown> | Array<Record<string, unknown>>;
const isEntries = (v: unknown): v is Entries => typeof v === 'object' && v !== null;
/** A listed section's entries by id (`LISTED_SECTIONS`; by position in other lists); a map section's by key. */
function entriesByName(section: string, v: Entries): Map<string, unknown> {
  if (!Array.isArray(v)) return new Map(Object.entries(v));
  const listed = (LISTED_SECTIONS as readonly string[]).includes(section);
  return new Map(v.map((e, i) => [listed && typeof e?.id === 'string' ? e.id : `#${i}`, e]));
}
const entryNames = (section: string, v: Entries) => [...entriesByName(section, v).keys()];

/**
 * Orders contract versions: dot-separated parts, numeric parts as numbers (`2026.12.10` > `2026.12.9`), others as text,
 * a numeric part below any other (`2026.12.1a` > `2026.12.10`); a version that extends another is above it
 * (`2026.12.1.1` > `2026.12.1`). A total order: comparing a number with text one way and text with text another (as it
 * did) let `10 < 1a < 9 < 10` go round, so a version could come back with other content.
 */
export function compareVersions(a: string, b: string): number {
  const [pa, pb] = [a.split('.'), b.split('.')];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if (pa[i] === undefined) return -1;
    if (pb[i] === undefined) return 1;
    const c = comparePart(pa[i], pb[i]);
    if (c !== 0) return c;
  }
  return 0;
}

function comparePart(a: string, b: string): number {
  const [na, nb] = [/^\d+$/.test(a), /^\d+$/.test(b)];
  if (na && nb) return Math.sign(Number(a) - Number(b));
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A change request as far as approving it is concerned. */
export interface ApprovableChange {
  id: string;
  requestedBy: string;
  digest: string;
  status: 'pending' | 'approved' | 'rejected' | 'withdrawn';
  /** ISO 8601; the request can no longer be approved from then on. */
  expiresAt: string;
}

/** Why an approval is refused: `own-request` is a 403, the others are conflicts (409). */
export interface ApprovalRefusal {
  code: 'own-request' | 'not-pending' | 'requester-revoked' | 'expired' | 'digest-mismatch';
  reason: string;
}

/**
 * Why `approver` may not approve `change` with `digest` at `now`, or undefined when they may. Four eyes:
 * the requester never approves their own change, whatever digest they send. The approval is bound to the
 * digest the approver was shown: any other digest is refused.
 */
export function approvalRefusal(
  change: ApprovableChange,
  approver: string,
  digest: string,
  now: Date,
  requesterIsAdmin: (id: string) => boolean = () => true,
): ApprovalRefusal | undefined {
  if (approver === change.requestedBy) {
    return { code: 'own-request', reason: `${approver} requested change ${change.id} and cannot approve it: another admin must` };
  }
  if (change.status !== 'pending') return { code: 'not-pending', reason: `change ${change.id} is ${change.status}, not pending` };
  // Four eyes are two admins now: a request of someone whose admin token was removed since (they left, or it leaked) is
  // no one's request any more (revocation probe, 2026-12-05: a departed admin's change was approved and applied).
  if (!requesterIsAdmin(change.requestedBy))
    return {
      code: 'requester-revoked',
      reason: `${change.requestedBy} requested change ${change.id} and holds no admin token now: it cannot be approved (reject it, and request it again if it is still wanted)`,
    };
  if (now.getTime() >= Date.parse(change.expiresAt)) return { code: 'expired', reason: `change ${change.id} expired at ${change.expiresAt}: request it again` };
  if (digest !== change.digest) {
    const reason = `digest ${digest} is not the digest of change ${change.id}: review it again (GET it) and approve what you reviewed`;
    return { code: 'digest-mismatch', reason };
  }
  return undefined;
}
