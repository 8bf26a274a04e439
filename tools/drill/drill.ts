// `npm run countersign -- drill <name> [--target DIR] [--json FILE]`: a game day as a command, against a running
// Countersign (embedded: its home; distributed: .stack/distributed). Prints the report; exits 0 only when it passed, 1
// when a check failed, 2 for a usage error, and 3 when its pre-flight stopped it before it began (the system was not
// where the drill can show anything: the report's first line says why).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_WAIT_MS, DrillOptions } from './drills/common';
import { DRILLS, DrillName } from './drills';
import { loadTarget } from './target';

export async function runDrillCli(argv: string[]): Promise<number> {
  const usage = `usage: countersign drill <${Object.keys(DRILLS).join('|')}> [--target DIR] [--json FILE] [--wait-s N] [--never-seen TYPE]\n`;
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        target: { type: 'string', default: join(process.cwd(), '.countersign', 'embedded') },
        json: { type: 'string' },
        'wait-s': { type: 'string' },
        'never-seen': { type: 'string' },
      },
    });
  } catch (e) {
    process.stderr.write(`drill: ${(e as Error).message}\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const name = positionals[0] as DrillName | undefined;
  // An own property: `in` also finds what every object inherits (`constructor`, `toString`), which are not drills.
  if (!name || !Object.hasOwn(DRILLS, name)) {
    process.stderr.write(`drill: ${name ? `unknown drill ${JSON.stringify(name)}` : 'a drill name is required'}\n${usage}`);
    return 2;
  }
  if (positionals.length > 1) {
    process.stderr.write(`drill: one drill at a time (got ${positionals.slice(1).join(' ')} after ${name})\n${usage}`);
    return 2;
  }
  const waitS = values['wait-s'] === undefined ? undefined : Number(values['wait-s']);
  if (waitS !== undefined && !(Number.isFinite(waitS) && waitS > 0)) {
    process.stderr.write(`drill: --wait-s must be a positive number of seconds (got ${JSON.stringify(values['wait-s'])})\n${usage}`);
    return 2;
  }
  let options: DrillOptions;
  try {
    options = {
      target: loadTarget(values.target!),
      // Each step as it happens, for a person at a terminal; elsewhere (CI, a pipe) quiet: the report on stdout says it all.
      log: (line) => void (process.stderr.isTTY && process.stderr.write(`${line}\n`)),
      waitMs: waitS !== undefined ? waitS * 1000 : DEFAULT_WAIT_MS,
      ...(values['never-seen'] && { neverSeenActionType: values['never-seen'] }),
    };
  } catch (e) {
    process.stderr.write(`drill: ${(e as Error).message}\n`);
    return 2;
  }
  const report = await DRILLS[name](options);
  process.stdout.write(report.text());
  if (values.json) writeFileSync(values.json, JSON.stringify(report.summary(), null, 2));
  return report.stopped ? 3 : report.passed() ? 0 : 1;
}
