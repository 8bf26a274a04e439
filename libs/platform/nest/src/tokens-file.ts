import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PrincipalSpec {
  name: string;
  principal: string;
  kind: 'agent' | 'human' | 'service';
  roles: string[];
}

/** The principals every environment gets: an agent, two reviewers (for quorum), an auditor, an admin. */
export const DEFAULT_PRINCIPALS: PrincipalSpec[] = [
  { name: 'agent', principal: 'support-copilot', kind: 'agent', roles: ['agent'] },
  { name: 'reviewer', principal: 'alice', kind: 'human', roles: ['reviewer', 'finance', 'security'] },
  { name: 'reviewer2', principal: 'bob', kind: 'human', roles: ['reviewer', 'finance', 'security'] },
  { name: 'auditor', principal: 'audrey', kind: 'human', roles: ['auditor'] },
  { name: 'admin', principal: 'ada', kind: 'human', roles: ['admin'] },
];

/**
 * Writes a tokens file (hashes only) and one file per raw token under `dir`; returns the raw tokens by name.
 * Raw tokens go to files with mode 0600, never to a log.
 */
export function writeTokens(dir: string, principals = DEFAULT_PRINCIPALS): { tokensFile: string; tokens: Record<string, string> } {
  mkdirSync(join(dir, 'tokens'), { recursive: true, mode: 0o700 });
  const tokens: Record<string, string> = {};
  const entries = principals.map((p) => {
    const token = `cs_${p.name}_${randomBytes(24).toString('base64url')}`;
    tokens[p.name] = token;
    writeFileSync(join(dir, 'tokens', p.name), token, { mode: 0o600 });
    return { principal: p.principal, kind: p.kind, roles: p.roles, tokenSha256: createHash('sha256').update(token).digest('hex') };
  });
  const tokensFile = join(dir, 'tokens.json');
  writeFileSync(tokensFile, JSON.stringify(entries, null, 2), { mode: 0o600 });
  return { tokensFile, tokens };
}

