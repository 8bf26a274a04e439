import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_TOPICS, AUDIT_LOG_OWN_TOPICS, Topic, TOPICS } from '@countersign/contracts';
import { RELAY_SERVICES } from './relay-chain';

// The fair ceiling is fair only while each relay reads what its service's consumer reads: this reads the consumers'
// sources (a consumer names its group and maps `[TOPICS.<name>]` to handlers) and holds the relays to them.
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !/\.(spec|int-spec|e2e-spec|suite)\.ts$/.test(p) ? [p] : [];
  });

/** The topics the consumer of `group` in `service` maps to handlers (its `handlers()` body). */
function consumerTopics(service: string, group: string): string[] {
  const source = files(join(__dirname, '../apps', service, 'src'))
    .map((f) => readFileSync(f, 'utf8'))
    .find((s) => s.includes(`protected readonly group = '${group}'`));
  if (!source) throw new Error(`no consumer of group ${group} in apps/${service}`);
  const body = source.slice(source.indexOf('protected handlers()'));
  const names = [...body.matchAll(/\[TOPICS\.(\w+)\]:/g)].map((m) => m[1] as keyof typeof TOPICS);
  return names.map((n) => TOPICS[n]);
}

describe('the no-op relay chain (bench/relay-chain.ts)', () => {
  const groups = Object.entries(RELAY_SERVICES).flatMap(([service, gs]) => gs.map((g) => ({ service, ...g })));

  it.each(groups.filter((g) => g.service !== 'audit-writer').map((g) => [g.group, g] as const))('relays in %s the topics its consumer reads', (_name, g) => {
    expect(new Set(g.hops.map((h) => h.from))).toEqual(new Set(consumerTopics(g.service, g.group)));
  });

  it('reads in the audit relay every topic the audit writer reads, in its group', () => {
    const audit = groups.find((g) => g.service === 'audit-writer')!;
    expect(audit.group).toBe('audit-writer.append');
    // The relay takes the writer's own list (AUDITED_TOPICS); the writer's handlers are made from that list.
    expect(audit.hops.map((h) => h.from)).toEqual(ALL_TOPICS.filter((t) => t !== TOPICS.treeHeadPublished && !AUDIT_LOG_OWN_TOPICS.has(t as Topic)));
    const consumer = readFileSync(join(__dirname, '../apps/audit-writer/src/ingest/audit.consumer.ts'), 'utf8');
    expect(consumer).toContain("protected readonly group = 'audit-writer.append'");
    expect(consumer.slice(consumer.indexOf('protected handlers()'))).toMatch(/^\s*const topics = AUDITED_TOPICS;$/m);
  });
});
