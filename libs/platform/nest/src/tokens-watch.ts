import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from '@countersign/logging';
import type { TokenEntry, TokenRegistry, TokensChange } from './auth';

/** How often the tokens file is looked at: a removed or rotated token stops within about this long. */
export const TOKENS_CHECK_MS = 1_000;

export interface TokensWatch {
  /** Looks at the file now (the timer does it every `everyMs`). */
  check(): void;
  stop(): void;
}

/**
 * Follows the tokens file while the process runs (red team, 2026-12-05: it was read once at start, and a token removed,
 * rotated or re-bound in it kept working until a restart, with nothing said). Each change of its bytes is read with
 * `read` and applied to `registry` at once: removed and rotated tokens stop, bindings hold at the next request, and the
 * change is logged (who was added, removed, or given other roles). A file that cannot be read, or is invalid, fails
 * closed: no token is taken (the last good list would keep in whoever was just removed), /readyz names why (the platform
 * module's `tokens` check), and the error is logged; the next good file is taken again.
 */
export function watchTokensFile(registry: TokenRegistry, options: { file: string; read: () => TokenEntry[]; logger: Logger; everyMs?: number }): TokensWatch {
  const { file, read, logger } = options;
  const digestOf = () => {
    try {
      return createHash('sha256').update(readFileSync(file)).digest('hex');
    } catch (e) {
      return `unreadable: ${(e as Error).message}`;
    }
  };
  let seen = digestOf();
  const check = () => {
    const now = digestOf();
    if (now === seen) return;
    seen = now;
    let change: TokensChange;
    try {
      change = registry.replace(read());
    } catch (e) {
      const reason = `the tokens file ${file} cannot be used (${(e as Error).message}): no token is taken until it can`;
      registry.refuseAll(reason);
      logger.error({ alert: 'tokens-file', file }, reason);
      return;
    }
    const { removed, added, changed } = change;
    const named = (ids: string[]) => (ids.length ? ids.join(', ') : 'none');
    logger.warn(
      { alert: 'tokens-file', file, removed, added, changed },
      `tokens file reloaded: removed ${named(removed)}; added ${named(added)}; roles changed ${named(changed)} (every token of the file as it is now; others stop at once)`,
    );
  };
  const timer = setInterval(check, options.everyMs ?? TOKENS_CHECK_MS);
  timer.unref();
  return {
    check,
    stop: () => clearInterval(timer),
  };
}
