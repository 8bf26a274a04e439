import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readTokensFile, TokenEntry, TokensFileError } from '@countersign/nest';
import { readRegularFile } from '@countersign/config';
import { StartRefusedError } from './start-checks';

/**
 * The home's tokens file (digests of the principals' tokens), or a refusal naming the file and what is wrong in it. One
 * with no principal is refused too: nothing could propose, review or administer (red team: `[]` started, silently).
 */
export function readHomeTokens(file: string): TokenEntry[] {
  let entries: TokenEntry[];
  try {
    entries = readTokensFile(file);
  } catch (e) {
    if (!(e instanceof TokensFileError)) throw e;
    const problem = { unreadable: `cannot be read (${e.detail})`, 'not-json': `not valid JSON (${e.detail})`, invalid: `not a tokens file (at ${e.detail})` }[
      e.problem
    ];
    throw new StartRefusedError(`${file}: ${problem}: restore it, or move it aside to make new tokens`);
  }
  if (entries.length === 0)
    throw new StartRefusedError(`${file}: holds no principals, so nothing could call this home: restore it, or move it aside to make new tokens`);
  return entries;
}

/**
 * The token files of `<home>/tokens/` (what the start banner and the README tell the operator to `cat`) that hold no
 * token of a principal in the tokens file: each empty one, or one whose token the registry does not know, as a line
 * for a warning naming the file (red team: an empty `tokens/agent` was accepted silently). Signing keys (`*.pem`) are not tokens.
 */
export function unusableTokenFiles(dir: string, known: (token: string) => boolean): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => !n.endsWith('.pem') && !n.startsWith('.'));
  } catch {
    return [];
  }
  const problems: string[] = [];
  for (const name of names.sort()) {
    const file = join(dir, name);
    let token: string;
    try {
      token = readRegularFile(file, 64 * 1024)
        .toString('utf8')
        .trim();
    } catch (e) {
      problems.push(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): its token cannot be used from it`);
      continue;
    }
    if (token === '') problems.push(`${file}: empty: its principal cannot call with it; move tokens.json and tokens/ aside to make new tokens`);
    else if (!known(token))
      problems.push(`${file}: its token is no principal's in tokens.json: it is refused (401); move tokens.json and tokens/ aside to make new tokens`);
  }
  return problems;
}
