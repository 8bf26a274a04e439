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
  return {
    /** Creates a flag with a default strategy (optionally with strategy variants) and sets its state; an existing flag keeps its strategies. */
    async create(name: string, enabled: boolean, variants: string[] = []) {
      const created = await call('POST', '', { name, type: variants.length ? 'release' : 'kill-switch', impressionData: false }, [409]);
      if (created !== 'exists')
        await call('POST', `/${name}/environments/${environment}/strategies`, {
          name: 'default',
          parameters: {},
          constraints: [],
          variants: variants.map((v) => ({ name: v, weight: Math.floor(1000 / variants.length), weightType: 'variable', stickiness: 'default' })),
        });
      await this.set(name, enabled);
      await this.visible(name, enabled);
    },
    set: (name: string, enabled: boolean) => call('POST', `/${name}/environments/${environment}/${enabled ? 'on' : 'off'}`),
    /**
     * Waits until the client API serves the flag in that state to SDKs. Unleash caches client responses
     * per query and per revision it has seen (it polls the revision about once a second), so a change is
     * not visible to SDKs at once. The request says the client spec version unleash-client sends, so it
     * reads the very cache entry SDKs read: without it, Unleash inlines segments, which is another query
     * with its own entry, and that one can be fresher than the SDKs' (computed earlier in the same revision).
     */
    async visible(name: string, enabled: boolean, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await fetch(`${apiUrl.replace(/\/$/, '')}/client/features`, {
          headers: { Authorization: String(clientToken), 'Unleash-Client-Spec': SDK_CLIENT_SPEC },
        });
        const body = (await res.json()) as { features: Array<{ name: string; enabled: boolean }> };
        if (body.features.some((f) => f.name === name && f.enabled === enabled)) return;
        if (Date.now() > deadline) throw new Error(`flag ${name} is not served as ${enabled ? 'on' : 'off'} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}
