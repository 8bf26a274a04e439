import type { Logger } from '@countersign/logging';
import { retryDelayMs, TokenRegistry, TokensWatch, worthSaying } from '@countersign/nest';

/**
 * Every principal the tokens file has named, kept across restarts, and which of them are out of it now (ADR 0014
 * addendum 2026-12-06). The review queue's rules about people taken out of the file (their approvals do not complete a
 * quorum, their agents' proposals are not approved, their claims and inbox sessions end) read `TokenRegistry.wasRemoved`,
 * which knew only the reloads the running process saw: a restart, or an edit while the service was stopped, made a
 * removed reviewer count again.
 */
export interface PrincipalRoster {
  /**
   * Records the tokens file as it is now: `present` its principals, `seen` any others named by a reload since the last
   * call that succeeded (added and removed again in between). Each one in the roster and not in `present` is marked
   * removed (when it was not already); each one in `present` is not. Returns every principal marked removed.
   */
  reconcile(present: readonly string[], seen?: readonly string[]): Promise<string[]>;
}

/**
 * Keeps `tokens`' removals across restarts with `roster`: reconciled once now (a failure stops the boot: the removals
 * cannot be known, so no approval should be taken), then after every reload of the file the watch reports. A reload's
 * record the store does not take is tried again (the removal holds in memory meanwhile), with the principals named since.
 */
export async function keepRemovals(
  tokens: TokenRegistry,
  watch: TokensWatch,
  roster: PrincipalRoster,
  o: { logger: Logger; retryMs?: number },
): Promise<{ stop(): void }> {
  tokens.markRemoved(await roster.reconcile(tokens.principals()));
  let seen = new Set<string>();
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  const record = async (): Promise<void> => {
    while (again && !stopped) {
      again = false;
      const named = [...seen];
      try {
        tokens.markRemoved(await roster.reconcile(tokens.principals(), named));
        for (const id of named) seen.delete(id);
        failures = 0;
      } catch (e) {
        failures++;
        if (worthSaying(failures))
          o.logger.error({ err: e }, 'could not record who is in the tokens file: trying again (removals hold in this process meanwhile)');
        again = true;
        await new Promise<void>((resolve) => {
          timer = setTimeout(resolve, retryDelayMs(failures, o.retryMs));
          timer.unref();
        });
      }
    }
  };
  watch.onReload((reload) => {
    if ('refused' in reload) return;
    for (const id of [...reload.removed, ...reload.added]) seen.add(id);
    again = true;
    running ??= record().finally(() => (running = undefined));
  });
  return {
    stop: () => {
      stopped = true;
      seen = new Set();
      clearTimeout(timer);
    },
  };
}
