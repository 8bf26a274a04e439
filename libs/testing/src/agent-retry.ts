import { DependencyUnavailableError } from '@countersign/bus';

/**
 * Calls `attempt` again while it fails with `DependencyUnavailableError` (a 503 at the API), as an agent retries
 * under the same key: a client whose broker connection was just cut may take a few seconds to reconnect, longer on
 * a loaded machine, and a test must not bet on how long. Anything else, or the deadline passing, is thrown.
 */
export async function retryWhileUnavailable<T>(attempt: () => Promise<T>, deadlineMs = 30_000, pauseMs = 250): Promise<T> {
  for (const deadline = Date.now() + deadlineMs; ;) {
    try {
      return await attempt();
    } catch (e) {
      if (!(e instanceof DependencyUnavailableError) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
}
