import { existsSync } from 'node:fs';
import { HomeInUseError, HomeLock } from './home-lock';
import { inspectHome } from './home-manifest';
import { checkPorts, prepareHome, StartRefusedError } from './start-checks';

/** The refusals `checkBeforeLoading` can give: each said as one line, without a stack. */
export const EARLY_REFUSALS: ReadonlyArray<abstract new (...args: never[]) => Error> = [StartRefusedError, HomeInUseError];

/**
 * What `startEmbedded` refuses before it makes anything (a port, the home, its lock held by another process, a part of a
 * used home missing), checked by the main before it loads Nest and the five services: said in a fraction of a second, not
 * after two of loading. Nothing here needs more than Node. `startEmbedded` checks all of it again: a port taken or a home
 * changed meanwhile is still refused there.
 */
export async function checkBeforeLoading(options: { home: string; host: string; port: number; identityPort: number }): Promise<void> {
  await checkPorts(options.host, options.port, options.identityPort);
  // A new home has nothing to refuse yet, and nothing is made before the settings checked later (an HTTPS file) are taken.
  if (!existsSync(options.home)) return;
  prepareHome(options.home);
  const lock = HomeLock.acquire(options.home);
  try {
    inspectHome(options.home);
  } finally {
    lock.release();
  }
}
