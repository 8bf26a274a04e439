// The settings a service cannot boot without, read from the code that validates them at boot (the base settings in
// libs/platform/nest/src/service-main.ts and the service's own in apps/<service>/src/settings.ts): a deployment file that
// leaves one out is caught by its test instead of by a crash-looping pod.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

export const SERVICES = ['orchestrator', 'policy-engine', 'review-queue', 'executor', 'audit-writer'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** The keys of one `z.object({...})` literal that have no default and are not optional. */
function requiredKeys(source: string, from: string, to: string): string[] {
  const start = source.indexOf(from);
  const end = source.indexOf(to, start);
  if (start < 0 || end < 0) throw new Error(`settings not found between "${from}" and "${to}"`);
  const body = source.slice(start, end);
  const keys = [...body.matchAll(/^\s+([A-Z][A-Z0-9_]+): ([\s\S]*?)(?=^\s+(?:\/\*\*|[A-Z][A-Z0-9_]+:)|^\s*\}\))/gm)];
  if (!keys.length) throw new Error(`no settings found between "${from}" and "${to}"`);
  return keys.filter(([, , schema]) => !/\.default\(|\.optional\(\)|settings\.(bool|host|logLevel|port|number|text)\(/.test(schema)).map(([, key]) => key);
}

/** Every setting `service` requires at boot, base settings included. */
export function requiredSettings(service: ServiceName): string[] {
  const base = readFileSync(join(root, 'libs/platform/nest/src/service-main.ts'), 'utf8');
  const own = readFileSync(join(root, 'apps', service, 'src/settings.ts'), 'utf8');
  return [...requiredKeys(base, 'const baseSettings = z', 'export type BaseSettings'), ...requiredKeys(`${own}\n// end`, 'Settings = z', '\n// end')];
}
