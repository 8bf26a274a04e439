import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex, TokenEntry } from '@countersign/nest';

/** The role the stand-in target's routes require; only the sink token has it. */
export const SINK_ROLE = 'sink';

/**
 * The stand-in target's own token, in `<home>/tokens/sink` (mode 0600, as the other tokens): the
 * webhook connector sends it, and a user reads the effects with it. Created on the first start, kept
 * after. A raw effect carries the real parameters (card numbers included), so it is not for anyone on the host.
 */
export function sinkToken(home: string): { token: string; entry: TokenEntry } {
  const file = join(home, 'tokens', 'sink');
  if (!existsSync(file)) {
    mkdirSync(join(home, 'tokens'), { recursive: true, mode: 0o700 });
    writeFileSync(file, `cs_sink_${randomBytes(24).toString('base64url')}`, { mode: 0o600, flag: 'wx' });
  }
  const token = readFileSync(file, 'utf8').trim();
  if (!/^\S{20,}$/.test(token)) throw new Error(`${file} does not hold a token: delete it to have a new one written`);
  return { token, entry: { principal: 'embedded-sink', kind: 'service', roles: [SINK_ROLE], tokenSha256: sha256Hex(token) } };
}
