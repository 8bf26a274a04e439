import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { EventData, newId, TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { rolesGrantingNothing, type TokenEntry, type TokenRegistry, type TokensChange } from './auth';
import { readRegularFile } from '@countersign/config';

/**
 * How often the tokens file is looked at: a removed or rotated token stops within about this long. A token added is
 * taken at once: an unknown token makes the watch look again, if the file changed.
 */
export const TOKENS_CHECK_MS = 1_000;

export interface TokensWatch {
  /** Looks at the file now (the timer does it every `everyMs`). */
  check(): void;
  stop(): void;
  /**
   * Tells `listener` of every reload from now on, and of those before it was given (a reload between the watch's start
   * and the bus's is not lost): the composition root audits them (`security.principals.changed.v1`), and a service that
   * keeps a roster of principals records them (review-queue `principal-roster`). Each listener hears each reload once.
   */
  onReload(listener: (reload: TokensReload) => void): void;
}

/** A reload of the tokens file: what changed (`TokensChange`), or why the file could not be used (`refused`). */
export type TokensReload = { file: string } & (TokensChange | (Record<keyof TokensChange, never[]> & { refused: string }));

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
      return createHash('sha256').update(readRegularFile(file)).digest('hex');
    } catch (e) {
      return `unreadable: ${(e as Error).message}`;
    }
  };
  let seen = digestOf();
  // Entries left out of a file that is taken (ids that read alike): said at error at start and at each reload.
  const sayRefused = () => {
    for (const line of registry.refusedIds()) logger.error({ alert: 'tokens-file', file }, `tokens file ${file}: ${line}`);
  };
  sayRefused();
  const listeners: Array<(reload: TokensReload) => void> = [];
  // The reloads so far, the last 100: a listener given late (at boot, once the bus or the database is up) hears them first.
  const history: TokensReload[] = [];
  const tell = (reload: TokensReload) => {
    if (history.push(reload) > 100) history.shift();
    for (const l of listeners) l(reload);
  };
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
      tell({ file: basename(file), removed: [], added: [], changed: [], rotated: [], grants: [], refused: reason });
      return;
    }
    const { removed, added, changed, rotated } = change;
    const named = (ids: string[]) => (ids.length ? ids.join(', ') : 'none');
    logger.warn(
      { alert: 'tokens-file', file, removed, added, changed, rotated },
      `tokens file reloaded: removed ${named(removed)}; added ${named(added)}; access changed ${named(changed)}; tokens rotated ${named(rotated)} (every token of the file as it is now; others stop at once)`,
    );
    sayRefused();
    tell({ file: basename(file), ...change });
  };
  const timer = setInterval(check, options.everyMs ?? TOKENS_CHECK_MS);
  timer.unref();
  // A token just added is taken at its first use, not up to a second later: an unknown token makes the watch look at
  // the file, read again only if its inode, size or times changed (a stat: a flood of unknown tokens reads nothing).
  const statOf = () => {
    try {
      const st = statSync(file);
      return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch (e) {
      return `unreadable: ${(e as NodeJS.ErrnoException).code}`;
    }
  };
  let stat = statOf();
  registry.checkOnMiss(() => {
    const now = statOf();
    if (now === stat) return;
    stat = now;
    check();
  });
  return {
    check,
    stop: () => {
      clearInterval(timer);
      registry.checkOnMiss(undefined);
    },
    onReload: (l) => {
      listeners.push(l);
      for (const reload of history) l(reload);
    },
  };
}

type PrincipalsTopic = typeof TOPICS.principalsChanged;

/**
 * How long to wait after the `failures`-th failure in a row of work that is retried until it is taken (a reload's audit,
 * its record in a roster): `baseMs`, doubling, at most a minute. Said (logged) on the first failure and every tenth.
 */
export const retryDelayMs = (failures: number, baseMs = 1_000): number => Math.min(60_000, baseMs * 2 ** Math.min(failures - 1, 6));
export const worthSaying = (failures: number): boolean => failures === 1 || failures % 10 === 0;

/**
 * Logs at warn each role of the tokens file that grants nothing (`rolesGrantingNothing`): now, and for the principals a
 * reload adds or gives other roles. `contractRoles` is read each time (a contract change may add a team).
 */
export function warnRolesGrantingNothing(registry: TokenRegistry, watch: TokensWatch, contractRoles: () => Iterable<string>, logger: Logger): void {
  for (const line of rolesGrantingNothing(registry, contractRoles())) logger.warn(line);
  watch.onReload((reload) => {
    const principals = reload.grants.map((g) => g.principal);
    if (principals.length) for (const line of rolesGrantingNothing(registry, contractRoles(), principals)) logger.warn(line);
  });
}

/**
 * Audits each reload of the tokens file as `security.principals.changed.v1` (auditor probe, 2026-12-06: `pii:view` and
 * `auditor` given to two people in the file took effect within a second, with a log line and no audit entry). `emit` is
 * the bus's, taken as a function. The reload stands whatever the bus does (keeping a removed token in because the bus is
 * down would be worse); an event the bus does not take is logged at error and sent again, in order, with the same id
 * (a copy that did arrive is dropped as one), every `retryMs` up to a minute apart, until it is taken or the process
 * stops. `stop` ends the retries.
 */
export function auditTokensReloads(
  watch: TokensWatch,
  report: {
    service: string;
    logger: Logger;
    emit(topic: PrincipalsTopic, data: EventData<PrincipalsTopic>, options: { subject: string; correlationId: string; id: string }): Promise<unknown>;
    retryMs?: number;
  },
): { stop(): void } {
  const waiting: Array<{ data: EventData<PrincipalsTopic>; id: string }> = [];
  let sending = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const send = async (): Promise<void> => {
    if (sending || stopped) return;
    sending = true;
    let failures = 0;
    try {
      while (waiting.length && !stopped) {
        const [{ data, id }] = waiting;
        try {
          // One subject per service: its reloads in order.
          await report.emit(TOPICS.principalsChanged, data, { subject: `principals:${report.service}`, correlationId: id, id });
          waiting.shift();
          failures = 0;
        } catch (e) {
          failures++;
          if (worthSaying(failures)) report.logger.error({ err: e, waiting: waiting.length }, 'could not audit a reload of the tokens file: sending it again');
          const delay = retryDelayMs(failures, report.retryMs);
          await new Promise<void>((resolve) => {
            timer = setTimeout(resolve, delay);
            timer.unref();
          });
        }
      }
    } finally {
      sending = false;
    }
  };
  watch.onReload((reload) => {
    const { file, removed, added, changed, rotated, grants } = reload;
    waiting.push({
      id: newId(),
      data: {
        service: report.service,
        file: file.slice(0, 300),
        removed,
        added,
        changed,
        rotated,
        grants,
        ...('refused' in reload && { refused: reload.refused.slice(0, 2000) }),
      },
    });
    void send();
  });
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
