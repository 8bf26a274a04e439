import { SUPPORTED_SPEC_VERSION as SDK_CLIENT_SPEC } from 'unleash-client/lib/repository';

/**
 * The Unleash admin API calls the tests use to toggle flags on the real server (see infra/README.md).
 * `apiUrl` is UNLEASH_URL (ending in /api).
 */
export function unleashAdmin(
  apiUrl: string,
  adminToken: string,
  environment = 'development',
  project = 'default',
  clientToken = process.env.UNLEASH_CLIENT_TOKEN,
) {
  const base = `${apiUrl.replace(/\/$/, '')}/admin/projects/${project}/features`;
  const call = async (method: string, path: string, body?: unknown, okStatuses: number[] = []) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { Authorization: adminToken, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (okStatuses.includes(res.status)) return 'exists';
    if (!res.ok) throw new Error(`unleash admin ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? undefined : res.json().catch(() => undefined);
  };
  /**
   * Waits until the client API serves each flag in its state to SDKs. Unleash caches client responses
   * per query and per revision it has seen (it polls the revision about once a second), so a change is
   * not visible to SDKs at once. The request says the client spec version unleash-client sends, so it
   * reads the very cache entry SDKs read: without it, Unleash inlines segments, which is another query
   * with its own entry, and that one can be fresher than the SDKs' (computed earlier in the same revision).
   */
  const visibleAll = async (flags: Array<{ name: string; enabled: boolean }>, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await fetch(`${apiUrl.replace(/\/$/, '')}/client/features`, {
        headers: { Authorization: String(clientToken), 'Unleash-Client-Spec': SDK_CLIENT_SPEC },
      });
      const body = (await res.json()) as { features: Array<{ name: string; enabled: boolean }> };
      const missing = flags.filter(({ name, enabled }) => !body.features.some((f) => f.name === name && f.enabled === enabled));
      if (!missing.length) return;
      if (Date.now() > deadline)
        throw new Error(`flag(s) ${missing.map((f) => `${f.name} ${f.enabled ? 'on' : 'off'}`).join(', ')} not served so after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return {
    /** Creates a flag with a default strategy (optionally with strategy variants) and sets its state; an existing flag keeps its strategies. */
    async create(name: string, enabled: boolean, variants: string[] = []) {
      await this.createAll([{ name, enabled, variants }]);
    },
    /**
     * Creates several flags as `create` does, then waits once until SDKs are served all of them: Unleash shows a change
     * to SDKs about a second later, so waiting flag by flag costs a second each.
     */
    async createAll(flags: Array<{ name: string; enabled: boolean; variants?: string[] }>, options: { keepExisting?: boolean } = {}) {
      const set: typeof flags = [];
      for (const flag of flags) {
        const { name, enabled, variants = [] } = flag;
        const created = await call('POST', '', { name, type: variants.length ? 'release' : 'kill-switch', impressionData: false }, [409]);
        if (created !== 'exists')
          await call('POST', `/${name}/environments/${environment}/strategies`, {
            name: 'default',
            parameters: {},
            constraints: [],
            variants: variants.map((v) => ({ name: v, weight: Math.floor(1000 / variants.length), weightType: 'variable', stickiness: 'default' })),
          });
        // `keepExisting`: a flag that exists keeps its state (a kill switch an admin turned off stays off at the next start).
        if (created === 'exists' && options.keepExisting) continue;
        await this.set(name, enabled);
        set.push(flag);
      }
      await visibleAll(set);
    },
    set: (name: string, enabled: boolean) => call('POST', `/${name}/environments/${environment}/${enabled ? 'on' : 'off'}`),
    /** Waits until SDKs are served the flag in that state (see `visibleAll`). */
    visible: (name: string, enabled: boolean, timeoutMs = 10_000) => visibleAll([{ name, enabled }], timeoutMs),
  };
}
