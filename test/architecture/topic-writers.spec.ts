import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { KafkaService, Topic, TOPIC_WRITERS, TOPICS } from '@countersign/contracts';

// real: the services' TypeScript sources, read with the TypeScript parser; fake: nothing.
// The Kafka ACLs are generated from TOPIC_WRITERS (docs/adr/0026): a service whose code emits a topic the table does not
// let it write would be refused by the broker in production. This finds such a call before the broker does.
const root = join(__dirname, '../..');
const SERVICES: KafkaService[] = ['orchestrator', 'policy-engine', 'review-queue', 'executor', 'audit-writer'];
const KEY_OF = Object.fromEntries(Object.entries(TOPICS).map(([k, v]) => [k, v])) as Record<string, Topic>;

/** Topics passed as `TOPICS.x` first argument of `emit(`, `envelope(` or `publish(` in `files`. */
function emitted(files: string[]): Map<Topic, string[]> {
  const found = new Map<Topic, string[]>();
  for (const file of files) {
    const src = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && ['emit', 'envelope', 'publish'].includes(node.expression.name.text)) {
        const first = node.arguments[0];
        if (first && ts.isPropertyAccessExpression(first) && ts.isIdentifier(first.expression) && first.expression.text === 'TOPICS') {
          const topic = KEY_OF[first.name.text];
          if (topic) found.set(topic, [...(found.get(topic) ?? []), `${file}:${src.getLineAndCharacterOfPosition(node.getStart()).line + 1}`]);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(src);
  }
  return found;
}

const sourcesOf = (service: string) =>
  execFileSync('git', ['ls-files', '-co', '--exclude-standard', `apps/${service}/src`], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.endsWith('.ts') && !/\.(spec|int-spec|e2e-spec|suite|harness)\.ts$/.test(f) && !f.includes('/testing/'));

describe('every topic a service emits is one the topic table lets it write (the ACLs)', () => {
  it.each(SERVICES)('%s', (service) => {
    const found = emitted(sourcesOf(service));
    expect(found.size).toBeGreaterThan(0);
    const forbidden = [...found].filter(([topic]) => !TOPIC_WRITERS[topic].includes(service)).map(([topic, at]) => `${topic} at ${at.join(', ')}`);
    expect(forbidden).toEqual([]);
  });

  it('finds a forbidden emit (so the check above can fail)', () => {
    const found = emitted(sourcesOf('review-queue'));
    expect([...found.keys()].some((t) => !TOPIC_WRITERS[t].includes('executor'))).toBe(true);
  });
});
