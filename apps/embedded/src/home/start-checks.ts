import { accessSync, chmodSync, constants, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';

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

/**
 * Makes `path` and its missing parents, one plain mkdir per level as `prepareHome` does: Node's recursive mkdir never
 * returns under `/proc` (red team, 2026-12-07: `COUNTERSIGN_WITNESS_DIR=/proc/x` hung the start with no output). A
 * system error (a file in the way, a read-only file system) is thrown as it is.
 */
export function makeFolder(path: string, mode = 0o700): void {
  const missing: string[] = [];
  for (let at = resolve(path); kindOf(at) === 'missing' && dirname(at) !== at; at = dirname(at)) missing.unshift(at);
  for (const dir of missing) {
    try {
      mkdirSync(dir, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && kindOf(dir) === 'dir') continue;
      throw e;
    }
  }
}

function kindOf(path: string): 'dir' | 'other' | 'missing' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

/** The ports of a start: each free (`checkPortFree`), and not the same one twice. */
export async function checkPorts(host: string, port: number, identityPort: number): Promise<void> {
  await checkPortFree('PORT', host, port);
  if (identityPort && identityPort === port)
    throw new StartRefusedError(`IDENTITY_PORT=${identityPort}: the same port as PORT; choose another, or 0 for a free one`);
  await checkPortFree('IDENTITY_PORT', host, identityPort);
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
