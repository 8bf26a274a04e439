import { createHash, createPublicKey, KeyObject, timingSafeEqual } from 'node:crypto';
import {
  CanActivate,
  ExecutionContext,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  ForbiddenException,
  Inject,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { closestName, identifierString, nameString, parseStrictJson } from '@countersign/contracts';
import { readRegularFile } from '@countersign/config';
import { limitKey } from '@countersign/policy';
import { z } from 'zod';
import { ROUTE_DOC, RouteDoc } from './openapi/route-doc';

/** An authenticated caller. */
export interface Principal {
  id: string;
  kind: 'agent' | 'human' | 'service';
  roles: string[];
  /** The agent ids this principal may propose as (`proposer.agentId`); absent: its own id only. */
  agentIds?: string[];
  /**
   * Every agent id the same principal id may propose as, through any of its tokens (the registry's `proposesAs`):
   * separation of duties reads it (a person whose agent token speaks for `support-copilot` does not approve
   * `support-copilot`'s actions, with their reviewer token or in the inbox). Proposing reads `agentIds` only.
   */
  proposesAs?: string[];
  /** The tenants it may act for (`proposal.tenant`, spelled exactly as listed); absent: any tenant. */
  tenants?: string[];
  /**
   * The regions it may act in (`proposal.region`, spelled exactly as listed); absent: any region. A flag scoped by
   * region (a kill switch or an autonomy level for `eu-west` only) binds only agents bound to regions: an agent free to
   * name its region could name `EU-West` or `eu-west-1` and pass it (red team, 2026-12-05).
   */
  regions?: string[];
  /** How it was authenticated, as the audit trail records it: absent, a bearer token; `oidc`, a signed-in inbox session. */
  authMethod?: 'bearer-token' | 'oidc';
  /** How an inbox session's person proved who they are (the ID token's `amr`: `pwd`, `mfa`, …); absent for bearer tokens. */
  amr?: string[];
  /** When an inbox session's person last authenticated at the provider (ms since the epoch; the ID token's `auth_time`). */
  authTime?: number;
}

/** True when `principal` may propose actions as the agent `agentId` (docs/adr/0008). */
export const mayProposeAs = (principal: Principal, agentId: string): boolean => (principal.agentIds ?? [principal.id]).includes(agentId);

/**
 * True when `principal` may act for `tenant`: it is listed exactly (no other spelling), or the principal is bound to none.
 * An agent proposes for it; a reviewer sees, claims and decides its review items (docs/adr/0052).
 */
export const mayActFor = (principal: Pick<Principal, 'tenants'>, tenant: string): boolean => !principal.tenants || principal.tenants.includes(tenant);

/**
 * The roles whose routes serve every tenant of a deployment: the governance page and API and the mode overrides
 * (`lead`, `admin`), the audit API (`auditor`), autonomy and contract changes (`admin`, `autonomy:lower`), the metrics
 * scrape and the embedded sink. A principal bound to tenants holds none of them: a binding there would bind nothing (a
 * tenant's lead reading every tenant's reviewers on the governance page). Every other role a person holds (`reviewer`,
 * the contract's teams such as `finance`, `pii:view`) is checked item by item against the tenant (docs/adr/0052).
 */
export const EVERY_TENANT_ROLES: readonly string[] = ['admin', 'lead', 'auditor', 'autonomy:lower', 'metrics', 'sink'];

/**
 * The roles Countersign's own routes and checks read. A contract adds the teams it routes reviews to (`requiredRoles`,
 * escalation tiers, fallback teams: `contractRoles`); any other role in a tokens file grants nothing.
 */
export const PLATFORM_ROLES: readonly string[] = ['agent', 'reviewer', 'pii:view', 'lead', 'auditor', 'admin', 'autonomy:lower', 'metrics', 'sink'];

/**
 * One line per principal of `registry` holding a role that grants nothing: neither one of `PLATFORM_ROLES` nor one of
 * `contractRoles`, with the closest known role when one is near (`reveiwer`: reviewer). Fail-closed already (such a role
 * opens no route and routes no review), but a typo left a reviewer refused with nothing to say why (`only` narrows it to
 * some principals: those a reload gave other roles).
 */
export function rolesGrantingNothing(registry: TokenRegistry, contractRoles: Iterable<string>, only?: readonly string[]): string[] {
  const known = new Set([...PLATFORM_ROLES, ...contractRoles]);
  const lines: string[] = [];
  for (const [principal, roles] of registry.rolesByPrincipal()) {
    if (only && !only.includes(principal)) continue;
    const unknown = roles.filter((r) => !known.has(r));
    if (!unknown.length) continue;
    const named = unknown.map((r) => {
      const meant = closestName(r, known);
      return meant ? `"${r}" (did you mean "${meant}"?)` : `"${r}"`;
    });
    lines.push(
      `tokens file: ${principal} holds ${named.join(', ')}, which no route and no review of the contract reads: ` +
        `${unknown.length === 1 ? 'it grants' : 'they grant'} nothing (roles known: ${[...known].sort().join(', ')})`,
    );
  }
  return lines;
}

/** The roles of `roles` whose routes serve every tenant (`EVERY_TENANT_ROLES`): none may go with a tenant binding. */
export const everyTenantRolesOf = (roles: readonly string[]): string[] => roles.filter((r) => EVERY_TENANT_ROLES.includes(r));

/**
 * 403 for a principal bound to tenants on a route that serves every tenant (`what`, e.g. "the governance page"): its
 * tenants would bind nothing there. The token file keeps such principals from the roles of these routes
 * (`unenforcedBinding`); this holds the line where a role comes from elsewhere (an inbox sign-in's claims) or where a
 * route of a tenant-bound role serves every tenant (the reviewers' heartbeat, second reviews; docs/adr/0052).
 */
export function requireEveryTenant(principal: Pick<Principal, 'tenants'>, what: string): void {
  if (principal.tenants)
    throw new ForbiddenException(
      `${what} serves every tenant of the deployment, and you are bound to ${principal.tenants.join(', ')}: it is for people bound to no tenant (docs/adr/0052)`,
    );
}

/**
 * A tenant binding as written (a token entry's `tenants`, an inbox sign-in's `tenants` claim): the tenants spelled
 * exactly, at least one; absent means any tenant. Read strictly: an empty list, or one with a name no proposal's tenant
 * can be (`nameString`: white space at an edge, a control character), is refused rather than taken for "any" or for
 * "none" (red team, 2026-12-05: " acme" bound a reviewer to no item at all, with no word).
 */
export const TenantsSchema = z.array(nameString(200)).min(1).max(1000);

/** An entry that only proposes (the `agent` role alone): its tenants bind what it proposes, not a person's reach. */
const isAgentOnly = (e: Pick<TokenEntry, 'roles'>): boolean => e.roles.every((r) => r === 'agent');

/**
 * Two tenant bindings of one person, both held (a sign-in's claim and the tokens file's entry): the tenants both allow;
 * absent is any tenant. Empty when they share none: the person then reaches no tenant's item.
 */
export const narrowTenants = (a: string[] | undefined, b: string[] | undefined): string[] | undefined => (!a ? b : !b ? a : a.filter((t) => b.includes(t)));

/** True when `principal` may act in `region`: it is listed exactly (no other spelling), or the principal is bound to none. */
export const mayActIn = (principal: Principal, region: string): boolean => !principal.regions || principal.regions.includes(region);

/** An Ed25519 public key a principal signs events with (proposals produced straight to Kafka, docs/adr/0008). */
export const SigningKeyEntrySchema = z.object({
  keyId: identifierString(200),
  publicKeyPem: z.string().min(1).max(4096),
});

/**
 * One principal: its API token, stored only as its SHA-256 (the tokens file holds no usable secret), its
 * roles, the agent ids it may propose as, and the public keys of what it signs. Strict: a field it does not know is
 * refused, not dropped (`tenant` for `tenants` unbound an agent from its tenant, silently: config probe, 2026-12-05).
 */
export const TokenEntrySchema = z.strictObject({
  principal: identifierString(200),
  kind: z.enum(['agent', 'human', 'service']),
  roles: z.array(z.string().min(1)).min(1),
  tokenSha256: z.string().regex(/^[0-9a-f]{64}$/),
  agentIds: z.array(identifierString(200)).min(1).max(1000).optional(),
  tenants: TenantsSchema.optional(),
  regions: z.array(identifierString(200)).min(1).max(1000).optional(),
  signingKeys: z.array(SigningKeyEntrySchema).max(16).optional(),
});
export type TokenEntry = z.infer<typeof TokenEntrySchema>;
export const TokensFileSchema = z.array(TokenEntrySchema);

export const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** A principal's public key, found by its key id. */
export interface PrincipalKey {
  principal: Principal;
  key: KeyObject;
}

/**
 * Resolves bearer tokens to principals, comparing digests in constant time, and signing key ids to the
 * principal that holds the key. A key that is not Ed25519, or a key id used twice, stops the service.
 */
export class TokenRegistry {
  private state: RegistryState;
  /** Why no token is taken now (the tokens file became unusable while running), or undefined. */
  private refusing?: string;
  /** Principals a reload took out of the file (`replace`), until one puts them back. */
  private readonly removed = new Set<string>();
  /** What looks at the tokens file again when a token is not found (`checkOnMiss`). */
  private onMiss?: () => void;
  /** The principals of the last usable file, and what each may do: what the next one is compared with. */
  private good: Map<string, PrincipalAccess>;

  constructor(entries: TokenEntry[]) {
    this.state = registryState(entries);
    this.good = principalsOf(this.state);
  }

  /**
   * Takes `entries` in place of the current ones, at once for every request from now on (the tokens file was edited:
   * a token removed or rotated stops here, a binding changed holds at the next request). Invalid entries throw, and
   * the current ones stay. Ends a refusal (`refuseAll`). Returns who, compared with the last usable file, was removed,
   * added, given other access (roles, tenants, regions, agent ids, keys) or only other tokens, and the roles and tenants
   * of those added or changed.
   */
  replace(entries: TokenEntry[]): TokensChange {
    const before = this.good;
    this.state = registryState(entries);
    this.refusing = undefined;
    const after = (this.good = principalsOf(this.state));
    const removed = [...before.keys()].filter((id) => !after.has(id));
    for (const id of removed) this.removed.add(id);
    for (const id of after.keys()) this.removed.delete(id);
    const added = [...after.keys()].filter((id) => !before.has(id));
    const changed = [...after.keys()].filter((id) => before.has(id) && before.get(id)!.access !== after.get(id)!.access);
    const rotated = [...after.keys()].filter(
      (id) => before.has(id) && before.get(id)!.access === after.get(id)!.access && before.get(id)!.tokens !== after.get(id)!.tokens,
    );
    const grants = [...added, ...changed].map((principal) => {
      const { roles, tenants } = after.get(principal)!;
      return { principal, roles, ...(tenants && { tenants }) };
    });
    return { removed, added, changed, rotated, grants };
  }

  /**
   * Whether principal `id` was taken out of the tokens file (and not put back): the inbox ends their sessions, which no
   * token check reaches, and their approvals and their agents' proposals count for nothing. Known from the reloads this
   * process saw, and, where a service keeps a roster of principals (`markRemoved`), from before its start too.
   */
  wasRemoved(id: string): boolean {
    return this.removed.has(id);
  }

  /** The roles of each principal of the tokens file now (while it is refused: the last usable file's). */
  rolesByPrincipal(): Map<string, string[]> {
    return new Map([...this.good].map(([id, p]) => [id, p.roles]));
  }

  /** The principals of the tokens file now (none while it is refused: the last usable file's). */
  principals(): string[] {
    return [...this.good.keys()];
  }

  /**
   * Takes `ids` as taken out of the tokens file, as a reload that removed them would: a roster kept across restarts says
   * who left while the process was stopped, or before it started (colluding-reviewers probe, 2026-12-06: a restart
   * forgot every removal, and a removed reviewer's approval completed a quorum of two). One in the file now is not.
   */
  markRemoved(ids: Iterable<string>): void {
    for (const id of ids) if (!this.good.has(id)) this.removed.add(id);
  }

  /**
   * Takes no token from now on, until `replace`: the tokens file cannot be read or is invalid while running, so who
   * was removed from it cannot be known, and the last good list would keep them in (fail closed; red team, 2026-12-05:
   * an unreadable tokens file left every removed token working).
   */
  refuseAll(reason: string): void {
    this.state = registryState([]);
    this.refusing = reason;
  }

  /** Why the registry takes no token now (for /readyz and logs), or undefined. */
  refusal(): string | undefined {
    return this.refusing;
  }

  /** Whether some token of principal `id` holds `role` now (a request filed by an admin is approved only while they are one). */
  holds(id: string, role: string): boolean {
    for (const e of this.state.byDigest.values()) if (e.principal === id && e.roles.includes(role)) return true;
    return false;
  }

  resolve(token: string): Principal | undefined {
    const found = this.find(token);
    if (found || !this.onMiss) return found;
    // A token not in the list as last read may be one just written to the file: the file is looked at again now
    // (`onMiss`), instead of at the next timer's check (first-user probe: a token just added was refused for up to a
    // second).
    this.onMiss();
    return this.find(token);
  }

  /** Called when a token is not found: the tokens file's watch looks at the file again if it changed. */
  checkOnMiss(check: (() => void) | undefined): void {
    this.onMiss = check;
  }

  private find(token: string): Principal | undefined {
    const digest = sha256Hex(token);
    const entry = this.state.byDigest.get(digest);
    if (!entry || !timingSafeEqual(Buffer.from(entry.tokenSha256), Buffer.from(digest))) return undefined;
    return this.principalOf(entry);
  }

  /**
   * The tenants the person `id` is bound to by this file (their entries other than agent ones agree: `unenforcedBinding`),
   * or undefined when none binds them. The inbox narrows a sign-in by it: a binding written here held for the person's
   * bearer tokens and not for their inbox, where they approved another tenant's refund (red team, 2026-12-05).
   */
  tenantsOf(id: string): string[] | undefined {
    return this.state.personTenants.get(id);
  }

  /**
   * The id of the tokens file (a principal or an agent id, taken or left out) that `id` reads alike but is not
   * (`readingsAlike`), or undefined: an inbox sign-in as `аlice` (a Cyrillic `а`) beside the file's `alice` is refused, as two
   * such entries in the file grant nothing.
   */
  readsAlike(id: string): string | undefined {
    const reading = readingOf(id);
    return this.state.ids.find(([p, r]) => p !== id && readingsAlike(r, reading))?.[0];
  }

  /** Why the file's entries that are not taken were left out (ids that read alike), one line each; empty for most files. */
  refusedIds(): string[] {
    return this.state.refused;
  }

  /** Every agent id the principal `id` may propose as, through any of its tokens; its own id when it has none here. */
  proposesAs(id: string): string[] {
    return this.state.proposerSide.get(id) ?? [id];
  }

  private principalOf(e: TokenEntry): Principal {
    return { ...principalOf(e), proposesAs: this.proposesAs(e.principal) };
  }

  /** The principal holding the signing key `keyId`, with the key; undefined for an unknown key id. */
  signingKey(keyId: string): PrincipalKey | undefined {
    return this.state.byKeyId.get(keyId);
  }
}

/** Who a new tokens file removed, added, or gave other roles, by principal id (`TokenRegistry.replace`). */
export interface TokensChange {
  removed: string[];
  added: string[];
  /** Other roles, tenants, regions, agent ids or signing keys than before. */
  changed: string[];
  /** The same access, other tokens (a rotation). */
  rotated: string[];
  /** The roles (and tenants, when bound) of each principal added or changed, as they are now. */
  grants: Array<{ principal: string; roles: string[]; tenants?: string[] }>;
}

/** What a principal may do through all its tokens, as one comparable text (`access`), and which tokens it has. */
interface PrincipalAccess {
  roles: string[];
  tenants?: string[];
  access: string;
  tokens: string;
}

/** What a registry answers from: its entries by token digest, keys by id, and what each principal may act as and for. */
interface RegistryState {
  byDigest: Map<string, TokenEntry>;
  byKeyId: Map<string, PrincipalKey>;
  proposerSide: Map<string, string[]>;
  personTenants: Map<string, string[]>;
  /** Every principal and agent id the file names, those left out included (`withoutLookalikes`), with its reading. */
  ids: Array<[id: string, reading: string]>;
  /** Why entries were left out: ids that read alike. */
  refused: string[];
}

/** Each principal of a state: the roles of all its tokens, sorted, and what its tokens allow and are, comparable. */
function principalsOf(state: RegistryState): Map<string, PrincipalAccess> {
  const entries = new Map<string, TokenEntry[]>();
  for (const e of state.byDigest.values()) entries.set(e.principal, [...(entries.get(e.principal) ?? []), e]);
  const out = new Map<string, PrincipalAccess>();
  for (const [principal, es] of entries) {
    const union = (pick: (e: TokenEntry) => readonly string[] | undefined) => [...new Set(es.flatMap((e) => pick(e) ?? []))].sort();
    const roles = union((e) => e.roles);
    const tenants = es.some((e) => e.tenants) ? union((e) => e.tenants) : undefined;
    // Per token, sorted: a binding moved from one token to another is a change too.
    const each = es
      .map((e) => JSON.stringify([e.kind, [...e.roles].sort(), e.tenants ?? null, e.regions ?? null, e.agentIds ?? null, e.signingKeys ?? null]))
      .sort();
    out.set(principal, {
      roles,
      ...(tenants && { tenants }),
      access: JSON.stringify(each),
      tokens: es
        .map((e) => e.tokenSha256)
        .sort()
        .join(),
    });
  }
  return out;
}

/** A registry's state from a tokens file's entries; throws naming what is wrong. */
function registryState(all: TokenEntry[]): RegistryState {
  const { kept: entries, refused } = withoutLookalikes(all);
  const unenforced = unenforcedBinding(entries);
  if (unenforced) throw new Error(unenforced);
  const state: RegistryState = {
    byDigest: new Map(entries.map((e) => [e.tokenSha256, e])),
    byKeyId: new Map(),
    proposerSide: new Map(),
    personTenants: new Map(),
    ids: withReadings([...new Set(all.flatMap((e) => [e.principal, ...(e.agentIds ?? [])]))]),
    refused,
  };
  for (const e of entries) if (e.tenants && !isAgentOnly(e)) state.personTenants.set(e.principal, e.tenants);
  for (const entry of entries) {
    const side = new Set([...(state.proposerSide.get(entry.principal) ?? []), ...(entry.agentIds ?? [entry.principal])]);
    state.proposerSide.set(entry.principal, [...side]);
  }
  const proposesAs = (id: string) => state.proposerSide.get(id) ?? [id];
  for (const entry of entries) {
    for (const k of entry.signingKeys ?? []) {
      if (state.byKeyId.has(k.keyId)) throw new Error(`signing key id ${k.keyId} is listed twice`);
      let key: KeyObject;
      try {
        key = createPublicKey(k.publicKeyPem);
      } catch (e) {
        throw new Error(`signing key ${k.keyId} of ${entry.principal} is not a public key: ${(e as Error).message}`);
      }
      if (key.asymmetricKeyType !== 'ed25519') throw new Error(`signing key ${k.keyId} of ${entry.principal} is ${key.asymmetricKeyType}, not Ed25519`);
      state.byKeyId.set(k.keyId, { principal: { ...principalOf(entry), proposesAs: proposesAs(entry.principal) }, key });
    }
  }
  return state;
}

/**
 * A tenant or region binding the tokens file states but Countersign would not hold to, or undefined. A restriction that
 * reads as a control and is not one is refused at start (red team, 2026-12-05), rather than trusted by whoever reads the file:
 * - `tenants` bind what an agent proposes (admission.ts) and which review items a reviewer reaches (docs/adr/0052);
 *   the routes of `EVERY_TENANT_ROLES` serve every tenant, so a binding on an entry holding one of them binds nothing
 *   there (there is no governance page of `acme` alone);
 * - `regions` bind what an agent proposes only: the review queue reads no region, so a reviewer bound to `eu-west`
 *   would still reach every region's items, as one bound to `globex` approved an `acme` refund before ADR 0052;
 * - one agent id is one agent: its actions (`GET /v1/actions/{id}` is read by agent id), its anomaly statistics and its
 *   backlog are one, so every entry proposing as it is bound alike (two tenants' `support-copilot` read each other's
 *   actions, and one tenant's flood of confident proposals sent the other's to review);
 * - budgets count a tenant by its canonical spelling (`limitKey`: `Ac-Me` is `acme`), so two tenants bound in spellings
 *   that count as one would spend one budget.
 */
export function unenforcedBinding(entries: readonly TokenEntry[]): string | undefined {
  for (const e of entries) {
    const everyTenant = everyTenantRolesOf(e.roles);
    if (e.tenants && everyTenant.length)
      return (
        `${e.principal}: tenants bind what an agent proposes and which review items a reviewer reaches, and this entry also ` +
        `holds ${everyTenant.join(', ')}, whose routes serve every tenant of the deployment: give those roles an entry ` +
        `without tenants (docs/adr/0052)`
      );
    const other = e.roles.filter((r) => r !== 'agent');
    if (e.regions && other.length)
      return (
        `${e.principal}: regions bind what an agent proposes, and this entry also holds ${other.join(', ')}, whose ` +
        `routes serve every region of the deployment: give those roles an entry without regions (docs/adr/0008)`
      );
  }
  // A person is bound once: with one token bound to acme and another to none, the second unbound them.
  const personBinding = new Map<string, string>();
  for (const e of entries.filter((x) => !isAgentOnly(x))) {
    const binding = e.tenants ? [...e.tenants].sort().join(', ') : 'any tenant';
    const first = personBinding.get(e.principal);
    if (first !== undefined && first !== binding)
      return `${e.principal} has tokens bound to ${first} and to ${binding}: a person is bound to tenants once, so give each of their tokens the same tenants`;
    personBinding.set(e.principal, binding);
  }
  const holders = new Map<string, { principal: string; binding: string }>();
  const bindingOf = (e: TokenEntry) =>
    `tenants ${e.tenants ? [...e.tenants].sort().join(', ') : 'any'}; regions ${e.regions ? [...e.regions].sort().join(', ') : 'any'}`;
  for (const e of entries.filter((x) => x.roles.includes('agent'))) {
    for (const agentId of e.agentIds ?? [e.principal]) {
      const first = holders.get(agentId);
      const binding = bindingOf(e);
      if (first && first.binding !== binding)
        return (
          `agent id ${agentId} is proposed as by ${first.principal} (${first.binding}) and by ${e.principal} (${binding}): one agent ` +
          `id is one agent, whose actions, statistics and backlog are one; bind its entries alike, or give each tenant's agent an id of its own`
        );
      if (!first) holders.set(agentId, { principal: e.principal, binding });
    }
  }
  const spelled = new Map<string, string>();
  for (const tenant of new Set(entries.flatMap((e) => e.tenants ?? []))) {
    const key = limitKey(tenant);
    const before = spelled.get(key);
    if (before !== undefined)
      return `tenants ${JSON.stringify(before)} and ${JSON.stringify(tenant)} count as one tenant in budgets and statistics: bind one spelling of each tenant`;
    spelled.set(key, tenant);
  }
  return undefined;
}

/**
 * An id as a person reads it: compatibility forms, marks and invisible characters gone, lower case, `I` and `1` read as
 * `l` and `0` as `o`, and every other character outside ASCII a `?`, which reads as any character: a letter of another
 * script can be drawn as any Latin one (`аda`, `bⲟb`, `Νora`), and no table of them is whole (red team of the first
 * fix, 2026-12-07: Greek capitals, Coptic and Tifinagh letters passed one).
 */
export function readingOf(id: string): string {
  let out = '';
  for (const c of id.normalize('NFKD').replace(INVISIBLE_OR_MARK, '')) {
    if (c === 'I' || c === '1') out += 'l';
    else if (c === '0') out += 'o';
    else if (c.charCodeAt(0) < 0x80) out += c.toLowerCase();
    else out += '?';
  }
  return out;
}
const INVISIBLE_OR_MARK = /[\p{M}\p{Default_Ignorable_Code_Point}\p{Cf}]/gu;

/** Whether two readings (`readingOf`) match, a `?` matching any character. */
function readingsAlike(x: string, y: string): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i] && x[i] !== '?' && y[i] !== '?') return false;
  return true;
}

/** Each id with its reading, made once: a file's ids are compared pairwise, and a sign-in with every one of them. */
const withReadings = (ids: readonly string[]): Array<[id: string, reading: string]> => ids.map((id) => [id, readingOf(id)]);

/**
 * `entries` without those whose principal, or one of whose agent ids, reads alike another of the file's (`readingsAlike`),
 * and why each pair was left out. Both ids of a pair grant nothing until one is given another id: four-eyes, quorum and
 * separation-of-duties rules compare ids, so two ids one person reads as one were two approvers (red team, 2026-12-07:
 * `аda` approved ada's raise request; `bⲟb` made bob's approval a quorum of two, and a 20,000 EUR refund executed).
 * The rest of the file is taken: refusing it whole locked every token out over one pair (`worker`, `worker-0`).
 */
function withoutLookalikes(entries: TokenEntry[]): { kept: TokenEntry[]; refused: string[] } {
  const refused: string[] = [];
  const out = new Set<string>();
  for (const [what, ids] of [
    ['principals', [...new Set(entries.map((e) => e.principal))]],
    ['agent ids', [...new Set(entries.filter((e) => e.roles.includes('agent')).flatMap((e) => e.agentIds ?? [e.principal]))]],
  ] as const) {
    const read = withReadings(ids);
    for (let i = 0; i < read.length; i++)
      for (let j = i + 1; j < read.length; j++) {
        const [[a, x], [b, y]] = [read[i], read[j]];
        if (readingsAlike(x, y) && !(out.has(a) && out.has(b))) {
          out.add(a).add(b);
          refused.push(
            `${what} ${JSON.stringify(a)} and ${JSON.stringify(b)} read alike (case, letters of another script, marks or ` +
              `invisible characters, I, 1 and l, 0 and o): neither is taken until one of them is given another id`,
          );
        }
      }
  }
  if (!out.size) return { kept: entries, refused };
  return { kept: entries.filter((e) => !out.has(e.principal) && !(e.agentIds ?? [e.principal]).some((a) => out.has(a))), refused };
}

const principalOf = (e: TokenEntry): Principal => ({
  id: e.principal,
  kind: e.kind,
  roles: e.roles,
  agentIds: e.agentIds ?? [e.principal],
  ...(e.tenants && { tenants: e.tenants }),
  ...(e.regions && { regions: e.regions }),
});

export const TOKEN_REGISTRY = Symbol.for('countersign.TokenRegistry');
const ROLES = 'countersign:roles';

/** The roles of which the caller needs at least one. */
export const Roles = (...roles: string[]) => SetMetadata(ROLES, roles);

/** `@Roles(ANY_ROLE)`: any valid token, whatever its roles (the OpenAPI document). */
export const ANY_ROLE = '*';

/** The roles a route declares (`@Roles` on the handler, else on its controller); undefined: no token needed. */
export const requiredRoles = (handler: object, controller: object): string[] | undefined =>
  (Reflect.getMetadata(ROLES, handler) as string[] | undefined) ?? (Reflect.getMetadata(ROLES, controller) as string[] | undefined);

/**
 * How a route authenticates its caller: `bearer`, a token with one of its `@Roles` (AuthGuard); `session`, the reviewer
 * inbox's signed-in session (`ApiRoute({ session: true })`, the inbox's own guard); undefined for a route that needs none.
 * The body reader reads a request's body for such a route only once a guard has authenticated it (body.ts).
 */
export function routeAuthentication(handler: object, controller: object): 'bearer' | 'session' | undefined {
  if (requiredRoles(handler, controller)) return 'bearer';
  return (Reflect.getMetadata(ROUTE_DOC, handler) as RouteDoc | undefined)?.session ? 'session' : undefined;
}

/** Requests carry the principal once authenticated. */
export interface AuthenticatedRequest {
  principal?: Principal;
  headers: Record<string, string | string[] | undefined>;
  /** Node's headers as they came, names and values in turn (a header given twice is there twice). */
  rawHeaders?: string[];
}

/** How many times the request gives the header `name` (Node keeps only the first `Authorization` in `headers`). */
const timesGiven = (req: AuthenticatedRequest, name: string) => (req.rawHeaders ?? []).filter((h, i) => i % 2 === 0 && h.toLowerCase() === name).length;

/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750), or undefined. The scheme is case-insensitive
 * (RFC 9110 §11.1: `bearer` is the same scheme); anything else (another scheme, no token, two tokens) is no token.
 */
export function bearerToken(header: unknown): string | undefined {
  return typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header)?.[1] : undefined;
}

/** Bearer-token authentication and role check for every route that declares `@Roles(...)`. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(TOKEN_REGISTRY) private readonly tokens: TokenRegistry,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<string[] | undefined>(ROLES, [context.getHandler(), context.getClass()]);
    if (!roles) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    // Two Authorization headers are no token: Node keeps the first, a proxy in front may read the last, and the two
    // would act for different principals (red team, 2026-12-04). Two tokens in one header are refused the same way.
    if (timesGiven(req, 'authorization') > 1) throw new UnauthorizedException('more than one Authorization header: send one bearer token');
    const token = bearerToken(req.headers.authorization);
    // A header sent in another form (two words after Bearer, another scheme) is told as that, not as no header (red
    // team, 2026-12-06: `Bearer <valid token> x` was answered "missing bearer token").
    if (!token && !req.headers.authorization) throw new UnauthorizedException('missing bearer token (Authorization: Bearer <token>)');
    if (!token) throw new UnauthorizedException('malformed Authorization header: send one token as Authorization: Bearer <token>');
    const principal = this.tokens.resolve(token);
    // A tokens file that cannot be used takes no token (fail closed). That is the server's to fix, not the caller's
    // token: 503, not "unknown or revoked" (first-user probe, 2026-12-07: a good token was answered 401). Why stays in
    // /readyz and the log, not in an answer to anyone who asks.
    if (!principal && this.tokens.refusal())
      throw new ServiceUnavailableException("no token is accepted now: this server's tokens file cannot be used (its operator sees why at /readyz)");
    if (!principal) throw new UnauthorizedException('unknown or revoked token');
    req.principal = principal;
    if (!roles.includes(ANY_ROLE) && !roles.some((r) => principal.roles.includes(r))) {
      throw new ForbiddenException(`requires one of the roles: ${roles.join(', ')}`);
    }
    return true;
  }
}

/**
 * Reads a tokens file (JSON array of {principal, kind, roles, tokenSha256, agentIds?, tenants?, regions?, signingKeys?});
 * a bad file stops the service.
 */
export function loadTokenRegistry(path: string): TokenRegistry {
  let entries: TokenEntry[];
  try {
    entries = readTokensFile(path);
  } catch (e) {
    if (!(e instanceof TokensFileError)) throw e;
    throw new Error(`tokens file ${path} ${{ unreadable: 'cannot be read', 'not-json': 'is not valid JSON', invalid: 'is invalid' }[e.problem]}: ${e.detail}`);
  }
  try {
    return new TokenRegistry(entries);
  } catch (e) {
    throw new Error(`tokens file ${path} is invalid: ${(e as Error).message}`);
  }
}

/** A tokens file that cannot be used: unreadable, not JSON, or not a list of token entries (`invalid`). */
export class TokensFileError extends Error {
  constructor(
    readonly problem: 'unreadable' | 'not-json' | 'invalid',
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** The entries of a tokens file, read strictly (duplicate keys refused); `TokensFileError` says what is wrong. */
export function readTokensFile(path: string): TokenEntry[] {
  let bytes: Buffer;
  try {
    bytes = readRegularFile(path);
  } catch (e) {
    throw new TokensFileError('unreadable', (e as Error).message);
  }
  const json = parseStrictJson(bytes);
  if (!json.ok) throw new TokensFileError('not-json', json.message);
  const parsed = TokensFileSchema.safeParse(json.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === 'unrecognized_keys') {
      const key = issue.keys[0];
      const meant = closestName(key, Object.keys(TokenEntrySchema.shape));
      throw new TokensFileError('invalid', `${issue.path.join('.')}.${key}: unknown field${meant ? ` (did you mean ${meant}?)` : ''}`);
    }
    throw new TokensFileError('invalid', `${issue?.path.join('.') || 'the top'}: ${issue?.message}`);
  }
  return parsed.data;
}
