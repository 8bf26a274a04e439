import type { ControlKind, ControlValue } from '@countersign/flags';
import { FlagAdmin, FlagChange, valueOf } from './flag-admin';

export interface UnleashAdminOptions {
  /** The server's API root, ending in `/api` (as UNLEASH_URL). */
  url: string;
  /** An admin API token (UNLEASH_ADMIN_TOKEN): never logged, never echoed. */
  token: string;
  environment?: string;
  project?: string;
  /** Each call's own limit: a hung server must not hold an operator's lowering forever. */
  timeoutMs?: number;
}

interface Strategy {
  id: string;
  name: string;
  constraints?: unknown[];
  parameters?: Record<string, unknown>;
  segments?: number[];
  disabled?: boolean | null;
  variants?: Array<{ name: string; weight?: number }>;
}

interface UnleashEvent {
  id: number;
  type: string;
  featureName?: string | null;
  createdBy?: string;
  createdAt?: string;
}

/** Events read per page of Unleash's event search, and at most this many pages per poll. */
const PAGE = 100;
const MAX_PAGES = 20;
/**
 * How far before the newest change read a read goes back. Unleash stamps an event when its transaction writes it
 * and lists events by that time, but another transaction's event stamped a moment earlier can commit later: a
 * read that stopped at the newest change it had seen would never see that one.
 */
const COMMIT_WINDOW_MS = 10_000;

/** The cursor: the newest event time read, and the wanted events read within the window before it (id, time). */
interface EventCursor {
  at: number;
  seen: Map<number, number>;
}

function readCursor(cursor: string): EventCursor {
  const c = JSON.parse(cursor) as { at: number; seen: Array<[number, number]> };
  return { at: c.at, seen: new Map(c.seen) };
}

/**
 * Unleash's admin API (7.x) as a FlagAdmin. Autonomy levels are the variants of the flag's strategies in one
 * environment: a write sets the level as the only variant of every strategy (adding the default strategy when
 * there is none) and then enables the flag, or disables it for `off`. Changes are read from the event search
 * (`/api/admin/search/events`), newest first, paged back to the cursor's time less a window (`COMMIT_WINDOW_MS`).
 */
export function createUnleashFlagAdmin(o: UnleashAdminOptions): FlagAdmin {
  const root = o.url.replace(/\/$/, '');
  const env = o.environment ?? 'development';
  const features = `${root}/admin/projects/${encodeURIComponent(o.project ?? 'default')}/features`;

  const call = async (method: string, url: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { Authorization: o.token, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(o.timeoutMs ?? 5_000),
      });
    } catch (e) {
      throw new Error(`Unleash admin API ${method} ${new URL(url).pathname} failed: ${(e as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok && res.status !== 404 && res.status !== 409) {
      throw new Error(`Unleash admin API ${method} ${new URL(url).pathname}: ${res.status} ${text.slice(0, 300)}`);
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json };
  };
  const flagUrl = (flag: string) => `${features}/${encodeURIComponent(flag)}`;
  const strategiesUrl = (flag: string) => `${flagUrl(flag)}/environments/${encodeURIComponent(env)}/strategies`;

  return {
    store: 'unleash',
    async read(flag, kind) {
      const { status, json } = await call('GET', flagUrl(flag));
      if (status === 404) return undefined;
      const f = json as { archived?: boolean; environments?: Array<{ name: string; enabled: boolean; strategies?: Strategy[] }> };
      if (f.archived) return undefined;
      const e = f.environments?.find((x) => x.name === env);
      if (!e) return 'unknown';
      const variants = (e.strategies ?? [])
        .filter((s) => !s.disabled)
        .flatMap((s) => (s.variants ?? []).filter((v) => v.weight === undefined || v.weight > 0).map((v) => v.name));
      return valueOf(kind, e.enabled, variants);
    },

    async write(flag: string, kind: ControlKind, value: ControlValue) {
      const created = await call('POST', features, { name: flag, type: kind === 'kill-switch' ? 'kill-switch' : 'release', impressionData: false });
      if (created.status === 404) throw new Error(`Unleash has no project for ${flag}`);
      const listed = await call('GET', strategiesUrl(flag));
      const strategies = (listed.json as Strategy[] | undefined) ?? [];
      const variants = kind === 'autonomy' && value !== 'off' ? [{ name: value, weight: 1000, weightType: 'variable', stickiness: 'default' }] : undefined;
      if (strategies.length === 0) {
        await call('POST', strategiesUrl(flag), { name: 'default', parameters: {}, constraints: [], ...(variants && { variants }) });
      } else if (variants) {
        for (const s of strategies) {
          const body = { name: s.name, parameters: s.parameters ?? {}, constraints: s.constraints ?? [], segments: s.segments ?? [], variants };
          await call('PUT', `${strategiesUrl(flag)}/${encodeURIComponent(s.id)}`, body);
        }
      }
      const switched = await call('POST', `${flagUrl(flag)}/environments/${encodeURIComponent(env)}/${value === 'off' ? 'off' : 'on'}`);
      if (switched.status === 404) throw new Error(`Unleash could not switch ${flag} in ${env}`);
    },

    async changesSince(cursor, wanted) {
      const from = cursor === undefined ? undefined : readCursor(cursor);
      const read: Array<[number, number]> = []; // [id, createdAt] of each wanted change read, returned or not
      const found: FlagChange[] = [];
      let newest = from?.at ?? 0;
      let complete = false;
      for (let page = 0; page < MAX_PAGES && !complete; page++) {
        const { json } = await call('GET', `${root}/admin/search/events?offset=${page * PAGE}&limit=${PAGE}`);
        const events = (json as { events?: UnleashEvent[] } | undefined)?.events ?? [];
        complete = events.length < PAGE || from === undefined;
        for (const e of events) {
          const at = Date.parse(e.createdAt ?? '');
          if (!Number.isFinite(at)) throw new Error(`Unleash event ${e.id} has no readable createdAt`);
          newest = Math.max(newest, at);
          // Back to the cursor's time less the window in which a change may still commit after a later one.
          if (from && at < from.at - COMMIT_WINDOW_MS) {
            complete = true;
            break;
          }
          if (!e.featureName || !wanted(e.featureName)) continue;
          read.push([e.id, at]);
          if (from && !from.seen.has(e.id)) found.push({ id: e.id, flag: e.featureName, type: e.type, createdBy: e.createdBy });
        }
      }
      // What was read inside the window stays marked as read, so the next read, going back as far, skips it.
      const seen = new Map([...(from?.seen ?? []), ...read].filter(([, at]) => at >= newest - COMMIT_WINDOW_MS));
      return { cursor: JSON.stringify({ at: newest, seen: [...seen] }), changes: found.sort((x, y) => x.id - y.id), complete };
    },

    async history(flag, limit) {
      const { json } = await call('GET', `${root}/admin/search/events?feature=${encodeURIComponent(`IS:${flag}`)}&limit=${limit}`);
      const events = (json as { events?: UnleashEvent[] } | undefined)?.events ?? [];
      return events
        .filter((e) => e.featureName === flag)
        .map((e) => ({ id: e.id, flag, type: e.type, createdBy: e.createdBy }))
        .sort((x, y) => x.id - y.id);
    },
  };
}
