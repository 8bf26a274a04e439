import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// real: ESLint with the workspace config; fake: nothing. The rules the house keeps about events (docs/adr/0010).
const root = join(__dirname, '../..');

function lint(filePath: string, code: string): string[] {
  const run = spawnSync(join(root, 'node_modules/.bin/eslint'), ['--stdin', '--stdin-filename', filePath, '--format', 'json'], {
    cwd: root,
    input: code,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  // The JSON report, after whatever Nx's ESLint plugin prints first on a checkout with no project graph yet ("warning No
  // cached ProjectGraph…": `npx jest` alone, before any `nx` command, failed here on every test).
  const [result] = JSON.parse(run.stdout.slice(run.stdout.indexOf('[{'))) as Array<{ messages: Array<{ ruleId: string | null; message: string }> }>;
  return result.messages.filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

describe('one way to emit (lint)', () => {
  it('fails a hand-built envelope in a service', () => {
    const code = [
      "import { newId, TOPICS } from '@countersign/contracts';",
      'export const e = { id: newId(), type: TOPICS.actionExecuted, version: 1, subject: "a", correlationId: "c", causationId: null, data: {} };',
      '',
    ].join('\n');
    expect(lint('apps/executor/src/execution/probe.ts', code).join('\n')).toMatch(/A hand-built envelope/);
  }, 30_000);

  it('fails a topic name written outside the registry, as a string or a template', () => {
    expect(lint('apps/review-queue/src/queue/probe.ts', "export const t = 'review.decision.made.v1';\n").join('\n')).toMatch(/outside the registry/);
    expect(lint('libs/platform/bus/src/probe.ts', 'export const t = `execution.action.failed.v1.dlq`;\n').join('\n')).toMatch(/outside the registry/);
  }, 30_000);

  it('lets the registry name topics, and a service emit through the bus', () => {
    expect(lint('libs/contracts/src/topics.ts', "export const T = { a: 'review.decision.made.v1' } as const;\n")).toEqual([]);
    const code = [
      "import type { EventBus } from '@countersign/bus';",
      "import { TOPICS } from '@countersign/contracts';",
      'export const go = (bus: EventBus, cause: { id: string; subject: string; correlationId: string }) =>',
      "  bus.emit(TOPICS.actionRefused, { code: 'kill-switch-off', reason: 'off', suspicious: false }, { cause });",
      '',
    ].join('\n');
    expect(lint('apps/executor/src/execution/probe.ts', code)).toEqual([]);
  }, 30_000);
});
