import { createHash, KeyObject, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenEntry } from './auth';
import { newKeyPair } from '@countersign/keys';

export interface PrincipalSpec {
  name: string;
  principal: string;
  kind: 'agent' | 'human' | 'service';
  roles: string[];
  /** The agent ids it may propose as (absent: its own principal id only). */
  agentIds?: string[];
  /** The tenants it may act for (absent: any). */
  tenants?: string[];
  /** The regions it may act in (absent: any). */
  regions?: string[];
  /** Give it an Ed25519 key to sign proposals it produces straight to Kafka (docs/adr/0008). */
  signingKey?: boolean;
}

/** A principal's private signing key, as `writeTokens` made it. */
export interface WrittenSigningKey {
  keyId: string;
  privateKey: KeyObject;
  privateKeyFile: string;
}

/**
 * The principals every environment gets: an agent (proposing as `support-copilot`, over HTTP or signed
 * on Kafka), a second agent (`ops-copilot`), two reviewers (for quorum), a third who may see regulated data in clear (`pii:view`), an
 * auditor, two admins (a contract change needs one admin to request it and another to approve it), and Prometheus's
 * scrape token (`metrics`).
 */
export const DEFAULT_PRINCIPALS: PrincipalSpec[] = [
  // Agents act for the tenants their entry names: a proposal for another tenant is refused (403, or dead-lettered).
  { name: 'agent', principal: 'support-copilot', kind: 'agent', roles: ['agent'], agentIds: ['support-copilot'], tenants: ['acme'], signingKey: true },
  // A second agent, so that one agent's flood (the queue-overflow drill) is told apart from the others' steady work.
  { name: 'agent2', principal: 'ops-copilot', kind: 'agent', roles: ['agent'], agentIds: ['ops-copilot'], tenants: ['acme'] },
  { name: 'reviewer', principal: 'alice', kind: 'human', roles: ['reviewer', 'finance', 'security'] },
  { name: 'reviewer2', principal: 'bob', kind: 'human', roles: ['reviewer', 'finance', 'security'] },
  { name: 'privacy-reviewer', principal: 'carol', kind: 'human', roles: ['reviewer', 'finance', 'security', 'pii:view'] },
  { name: 'auditor', principal: 'audrey', kind: 'human', roles: ['auditor'] },
  { name: 'admin', principal: 'ada', kind: 'human', roles: ['admin'] },
  { name: 'admin2', principal: 'grace', kind: 'human', roles: ['admin'] },
  // Prometheus's scrape token: `GET /metrics` only (docs/adr/0021).
  { name: 'metrics', principal: 'prometheus', kind: 'service', roles: ['metrics'] },
];

/**
 * The agents the shipped example traffic proposes as (`libs/contracts/fixtures/scenarios.jsonl`, the shared scenarios).
 * The embedded mode's `scenarios.spec.ts` fails when a scenario names an agent this list lacks.
 */
export const SCENARIO_AGENT_IDS = [
  'analytics-agent',
  'code-agent',
  'finance-agent',
  'it-agent',
  'marketing-agent',
  'ops-agent',
  'platform-agent',
  'support-copilot',
] as const;

/**
 * `tokens/scenarios`: an agent that may propose as every agent the example traffic names (for the tenant it names), so
 * that `npm run countersign -- scenarios` can send it to a running instance, embedded or distributed. It is an agent
 * like the others: it decides nothing, and only its own actions are its to read.
 */
export const SCENARIOS_PRINCIPAL: PrincipalSpec = {
  name: 'scenarios',
  principal: 'scenario-agents',
  kind: 'agent',
  roles: ['agent'],
  agentIds: [...SCENARIO_AGENT_IDS],
  tenants: ['acme'],
};

/**
 * Writes a tokens file (hashes and public keys only) and one file per raw token under `dir`; returns the
 * raw tokens by name, and the signing keys of the principals that asked for one. Raw tokens and private
 * keys go to files with mode 0600, never to a log.
 */
export function writeTokens(
  dir: string,
  principals = DEFAULT_PRINCIPALS,
): { tokensFile: string; tokens: Record<string, string>; signingKeys: Record<string, WrittenSigningKey> } {
  mkdirSync(join(dir, 'tokens'), { recursive: true, mode: 0o700 });
  const tokens: Record<string, string> = {};
  const signingKeys: Record<string, WrittenSigningKey> = {};
  const entries = principals.map((p): TokenEntry => {
    const token = `cs_${p.name}_${randomBytes(24).toString('base64url')}`;
    tokens[p.name] = token;
    writeFileSync(join(dir, 'tokens', p.name), token, { mode: 0o600 });
    const entry: TokenEntry = { principal: p.principal, kind: p.kind, roles: p.roles, tokenSha256: createHash('sha256').update(token).digest('hex') };
    if (p.agentIds) entry.agentIds = p.agentIds;
    if (p.tenants) entry.tenants = p.tenants;
    if (p.regions) entry.regions = p.regions;
    if (p.signingKey) {
      const { privateKey, privateKeyPem, publicKeyPem } = newKeyPair();
      const keyId = `${p.principal}-${randomBytes(4).toString('hex')}`;
      const privateKeyFile = join(dir, 'tokens', `${p.name}.signing.pem`);
      writeFileSync(privateKeyFile, privateKeyPem, { mode: 0o600 });
      signingKeys[p.name] = { keyId, privateKey, privateKeyFile };
      entry.signingKeys = [{ keyId, publicKeyPem }];
    }
    return entry;
  });
  const tokensFile = join(dir, 'tokens.json');
  writeFileSync(tokensFile, JSON.stringify(entries, null, 2), { mode: 0o600 });
  return { tokensFile, tokens, signingKeys };
}
