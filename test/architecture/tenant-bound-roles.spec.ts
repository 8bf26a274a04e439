import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { EVERY_TENANT_ROLES } from '@countersign/nest';

// real: the sources of every app and lib (their `@Roles(...)` as written); fake: nothing.
const root = join(__dirname, '../..');

/**
 * The roles a principal bound to tenants may hold, and where each holds to the tenant (ADR 0052). Every other role on a
 * route must be in `EVERY_TENANT_ROLES`, which the tokens file refuses beside `tenants`: a new role on a route is
 * placed in one list or the other here, so a route that serves every tenant does not open to a bound token unnoticed.
 */
const TENANT_CHECKED: Record<string, string> = {
  agent: 'proposals (admission.ts, mayActFor); actions read by its own agent ids; the contract is the same for every tenant',
  reviewer:
    'review items (item-roles.ts, the stores’ queries); the heartbeat and second reviews refuse a bound one (requireEveryTenant); the contract is the same for every tenant',
  '*': 'the OpenAPI document, the same for every tenant',
};
const NAMED: Record<string, string> = { ANY_ROLE: '*', METRICS_ROLE: 'metrics', SINK_ROLE: 'sink' };

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(path);
    return /\.ts$/.test(e.name) && !/\.(spec|int-spec|e2e-spec)\.ts$/.test(e.name) ? [path] : [];
  });
}

describe('every role on a route either checks the tenant or is refused beside tenants (ADR 0052)', () => {
  it('finds each role of every @Roles(...) in one of the two lists', () => {
    const unplaced: string[] = [];
    let routes = 0;
    for (const file of [...sources(join(root, 'apps')), ...sources(join(root, 'libs'))]) {
      for (const [, args] of readFileSync(file, 'utf8').matchAll(/@Roles\(([^)]*)\)/g)) {
        if (args.trim() === '...') continue; // the decorator's own documentation
        routes++;
        for (const arg of args.split(',').map((a) => a.trim())) {
          const role = /^'([^']+)'$/.exec(arg)?.[1] ?? NAMED[arg];
          if (role === undefined) unplaced.push(`${relative(root, file)}: @Roles(${args}) names ${arg}, which this test cannot read`);
          else if (!EVERY_TENANT_ROLES.includes(role) && !(role in TENANT_CHECKED)) unplaced.push(`${relative(root, file)}: role ${role}`);
        }
      }
    }
    expect(routes).toBeGreaterThan(20);
    expect(unplaced).toEqual([]);
  });
});
