import { accessSync, chmodSync, constants, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { readTokensFile, TokenEntry, TokensFileError } from '@countersign/nest';

/**
 * Refused at start for a reason the operator can fix (the home, a file in it, a port): the main prints its message as
 * one line and exits 1, without a stack trace. Anything else is a defect and keeps its stack.
 */
export class StartRefusedError extends Error {}

/**
 * Makes the home folder (and any missing parents), its user's alone: PGlite writes its files 0666 whatever the umask,
 * and they hold the bus log's full proposals (the regulated values the review queue seals) and every record of truth
 * (red team, 2026-12-02). Each missing level is made by a plain mkdir, from the nearest folder that exists: Node's
 * recursive mkdir never returns under `/proc` (red team: `COUNTERSIGN_HOME=/proc/x` hung with no output), and a file in
 * the way gave a stack trace ("EEXIST") instead of saying which path.
 */
export function prepareHome(home: string): void {
  const path = resolve(home);
  const refuse = (problem: string) => new StartRefusedError(`COUNTERSIGN_HOME ${path}: ${problem}`);
  const missing: string[] = [];
  let at = path;
  for (;;) {
    const kind = kindOf(at);
    if (kind === 'dir') break;
    if (kind === 'other') throw refuse(at === path ? 'is a file, not a folder' : `${at} is a file, not a folder`);
    missing.unshift(at);
    if (dirname(at) === at) throw refuse('no part of the path exists');
    at = dirname(at);
  }
  try {
    accessSync(at, constants.W_OK | constants.X_OK);
  } catch {
    throw refuse(at === path ? 'is not writable by this user' : `cannot be made: ${at} is not writable by this user`);
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // Another start made it meanwhile: the lock decides which of the two runs.
      if (err.code === 'EEXIST' && kindOf(dir) === 'dir') continue;
      throw refuse(`cannot make ${dir} (${err.code ?? err.message}): choose a folder on a writable file system`);
    }
  }
  try {
    chmodSync(path, 0o700);
  } catch (e) {
    throw refuse(`cannot be made private to this user (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): is it another user's?`);
  }
}

function kindOf(path: string): 'dir' | 'other' | 'missing' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

/**
 * Refuses a port another process listens on, before anything is made or migrated: otherwise the home, its keys and its
 * database are created first and the clash shows only when the services listen. A port taken between this check and
 * then still fails there. With port 0 (a free one) it checks the host alone: a name that does not resolve, or an address
 * of another machine, is refused here too.
 */
export async function checkPortFree(setting: string, host: string, port: number): Promise<void> {
  await new Promise<void>((done, fail) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE')
        fail(new StartRefusedError(`${setting}=${port}: port ${port} on ${host} is in use by another process: stop it, or choose another ${setting}`));
      else if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN')
        fail(new StartRefusedError(`HOST=${host}: the name does not resolve to an address (${e.code})`));
      else if (e.code === 'EADDRNOTAVAIL') fail(new StartRefusedError(`HOST=${host}: not an address of this machine, so nothing can listen on it`));
      else if (e.code === 'EACCES')
        fail(new StartRefusedError(`${setting}=${port}: this user may not listen on port ${port} (below 1024): choose a port above 1023`));
      else fail(e);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => done()));
  });
}

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
      token = readFileSync(file, 'utf8').trim();
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
