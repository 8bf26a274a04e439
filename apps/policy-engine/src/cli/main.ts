import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ContractError } from '@countersign/policy';
import { createProgress, Progress } from '@countersign/logging';
import { AT_REST, decisionTimeLine, diff, diffReport, explain, Io, lint, loadCompiled, loadContract, readCorpus, replay, runTable } from './commands';
import { InaccessibleFile, writing } from '@countersign/config';
import { decisionInputs, parseInputsArg, readProposalFile } from './inputs';

const USAGE = `countersign policy <command>
  lint <contract.yaml>                                   schema and semantic checks
  test <contract.yaml> <table.yaml> [--json FILE]        a table of proposals and expected lanes
  explain <contract.yaml> <proposal.json> [--inputs JSON] the decision path of one proposal
  diff <old.yaml> <new.yaml> <corpus.jsonl>              which decisions change
  replay <contract.yaml> <recorded.jsonl> [--baseline <old.yaml>]   reviewer load per SLA class
The time a proposal is decided at (a rule on time.hour depends on it), every flag at rest unless given:
  diff, replay   the time the proposal was made where the corpus records it (the proposal entries of an exported
                 audit segment), else 2026-11-24T10:00:00Z; the first line of the output says which
  test           a row's inputs.now, else 2026-11-24T10:00:00Z
  explain        --inputs '{"now": "…"}', else the current time
Exit code: 0 fine, 1 findings or failures, 2 bad usage (a file that cannot be read or written included).`;

/** `countersign policy …`; returns the exit code. */
export async function runPolicyCli(
  argv: string[],
  io: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) },
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    io.out(USAGE);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'string' }, inputs: { type: 'string' }, baseline: { type: 'string' } } });
  } catch (e) {
    io.err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const {
    values: v,
    positionals: [command, ...args],
  } = parsed;
  const need = (n: number) => {
    if (args.length !== n) throw new Usage(`${command} takes ${n} file arguments`);
  };
  try {
    switch (command) {
      case 'lint': {
        need(1);
        const findings = lint(loadContract(args[0]));
        for (const f of findings) io.out(`${f.level}: ${f.where}: ${f.message}`);
        io.out(`${args[0]}: ${findings.filter((f) => f.level === 'error').length} errors, ${findings.filter((f) => f.level === 'warning').length} warnings`);
        return findings.some((f) => f.level === 'error') ? 1 : 0;
      }
      case 'test': {
        need(2);
        const result = runTable(loadCompiled(args[0]), args[1], io);
        if (v.json) writing(v.json, () => writeFileSync(v.json!, JSON.stringify(result)));
        return result.failed ? 1 : 0;
      }
      case 'explain': {
        need(2);
        let given;
        try {
          given = v.inputs === undefined ? undefined : parseInputsArg(v.inputs);
        } catch (e) {
          throw new Usage((e as Error).message);
        }
        explain(loadCompiled(args[0]), readProposalFile(args[1]), decisionInputs(given, AT_REST())).forEach((l) => io.out(l));
        return 0;
      }
      case 'diff': {
        need(3);
        const progress = createProgress('policy diff: proposals compared');
        const [before, after] = [loadCompiled(args[0]), loadCompiled(args[1])];
        const result = withProgress(progress, () => diff(before, after, readCorpus(args[2]), progress));
        io.out(decisionTimeLine(result));
        diffReport(result, before, after).forEach((l) => io.out(l));
        return 0;
      }
      case 'replay': {
        need(2);
        const progress = createProgress('policy replay: proposals replayed');
        const replayed = withProgress(progress, () => replay(loadCompiled(args[0]), readCorpus(args[1]), progress));
        const baseline = createProgress('policy replay: baseline proposals replayed');
        const before = v.baseline ? withProgress(baseline, () => replay(loadCompiled(v.baseline!), readCorpus(args[1]), baseline).counts) : undefined;
        // The same corpus both times, so the same times: one line says which.
        io.out(decisionTimeLine(replayed));
        const now = replayed.counts;
        for (const key of [...new Set([...Object.keys(now), ...Object.keys(before ?? {})])].sort()) {
          const delta = before ? ` (${(now[key] ?? 0) - (before[key] ?? 0) >= 0 ? '+' : ''}${(now[key] ?? 0) - (before[key] ?? 0)} vs baseline)` : '';
          io.out(`  ${key.padEnd(16)} ${now[key] ?? 0}${delta}`);
        }
        return 0;
      }
      default:
        throw new Usage(command ? `unknown command ${command}` : 'a command is required');
    }
  } catch (e) {
    if (e instanceof Usage) {
      io.err(`${e.message}\n${USAGE}`);
      return 2;
    }
    // Bad usage too, but the usage would bury the one line that matters: which file, and why.
    if (e instanceof InaccessibleFile) {
      io.err(e.message);
      return 2;
    }
    io.err(e instanceof ContractError ? e.message : `error: ${(e as Error).message}`);
    return 1;
  }
}

class Usage extends Error {}

/** Runs `work`, then ends its progress line (also when it throws), so what follows starts on a line of its own. */
function withProgress<T>(progress: Progress, work: () => T): T {
  try {
    return work();
  } finally {
    progress.finish();
  }
}
