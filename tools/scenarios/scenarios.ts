import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CertificateError, CountersignClient, CountersignError, NotFoundError, type ProposalInput, UnavailableError } from '@countersign/client';
import { parseStrictJson } from '@countersign/contracts';
import { InputFileError, readRegularFile } from '@countersign/keys';

/** The example traffic shipped with the repository (the same rows as the shared scenarios). */
export const DEFAULT_SCENARIOS = join(__dirname, '../../libs/contracts/fixtures/scenarios.jsonl');

const USAGE = `usage: countersign scenarios [file.jsonl] [--url URL] [--token-file FILE] [--ca FILE] [--timeout-ms N]
  Sends each row's proposal to a running Countersign through the typed client, waits for the policy's decision (not a
  reviewer's), and prints the lane it got beside the lane the row expects.
  file.jsonl     rows of {"proposal": {...}, "expectedLane": "...", "why": "..."} (default: the shipped scenarios)
  --url          the API (default http://127.0.0.1:$PORT, PORT default 8080)
  --token-file   an agent token that may propose as the rows' agents
                 (default $COUNTERSIGN_HOME/tokens/scenarios, COUNTERSIGN_HOME default .countersign/embedded)
  --ca           a PEM root to trust for an https: URL of a private PKI (the system's roots otherwise)
  --timeout-ms   how long to wait for each lane (default 15000)
Exit code: 0 when every proposal was accepted and given a lane, 1 otherwise, 2 on bad usage.
`;

interface Row {
  proposal: ProposalInput;
  expectedLane?: string;
}

/** `countersign scenarios …`: the example traffic against a running instance, as an agent would send it. */
export async function runScenariosCli(args: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        'token-file': { type: 'string' },
        ca: { type: 'string' },
        'timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    process.stderr.write(`countersign scenarios: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) return (process.stdout.write(USAGE), 0);
  if (parsed.positionals.length > 1) return (process.stderr.write(`countersign scenarios: one file at most\n${USAGE}`), 2);
  const timeoutMs = Number(parsed.values['timeout-ms'] ?? 15_000);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    return (process.stderr.write(`countersign scenarios: --timeout-ms must be a whole number of milliseconds above 0\n`), 2);

  const file = parsed.positionals[0] ?? DEFAULT_SCENARIOS;
  const home = process.env.COUNTERSIGN_HOME ?? '.countersign/embedded';
  const tokenFile = parsed.values['token-file'] ?? join(home, 'tokens', 'scenarios');
  let rows: Row[];
  let token: string;
  let ca: string | undefined;
  try {
    rows = readRows(file);
    token = readToken(tokenFile, parsed.values['token-file'] === undefined);
    ca = parsed.values.ca === undefined ? undefined : readText(parsed.values.ca);
  } catch (e) {
    process.stderr.write(`countersign scenarios: ${(e as Error).message}\n`);
    return 2;
  }

  const baseUrl = parsed.values.url ?? `http://127.0.0.1:${process.env.PORT ?? 8080}`;
  let client: CountersignClient;
  try {
    client = new CountersignClient({ baseUrl, token, ...(ca && { tls: { ca } }) });
  } catch (e) {
    // A URL that is none, or not http(s) (red team, 2026-12-07: a stack trace and exit 1), is bad usage like the rest.
    // Said with the option's name, not the SDK's (`baseUrl`: first-user probe, 2026-12-07).
    const why = (e as Error).message.replace(/^CountersignClient: /, '').replace(/\bbaseUrl\b/g, '--url');
    process.stderr.write(`countersign scenarios: ${why.startsWith('--url') ? why : `--url: ${why}`} (e.g. http://127.0.0.1:8080)\n`);
    return 2;
  }
  let undecided = 0;
  let departs = 0;
  out(`${'lane'.padEnd(12)} ${'expected'.padEnd(12)} proposal`);
  for (const row of rows) {
    const name = `${row.proposal.actionType} ${row.proposal.target}`;
    try {
      const { actionId } = await client.propose(row.proposal);
      const lane = await laneOf(client, actionId, timeoutMs);
      if (row.expectedLane !== undefined && lane !== row.expectedLane) departs += 1;
      out(
        `${lane.padEnd(12)} ${(row.expectedLane ?? '-').padEnd(12)} ${name}${row.expectedLane !== undefined && lane !== row.expectedLane ? '   (departs)' : ''}  ${actionId}`,
      );
    } catch (e) {
      undecided += 1;
      // The status of the answer, if there was one: the SDK's 503 for no connection is no answer (first-user probe,
      // 2026-12-07: "503 … ECONNREFUSED").
      const status = e instanceof CountersignError && e.httpStatus !== undefined ? `${e.httpStatus} ` : '';
      out(`${'-'.padEnd(12)} ${(row.expectedLane ?? '-').padEnd(12)} ${name}   no lane: ${status}${(e as Error).message}`);
      // Nothing answers at all (a wrong --url, a stopped instance): the other rows would each wait through the same
      // retries, over a minute in all. Stopped here, with what to check.
      if (e instanceof CertificateError) {
        out(`stopped: the certificate of ${baseUrl} was refused; give the root it chains to with --ca`);
        return 1;
      }
      if (e instanceof UnavailableError && e.httpStatus === undefined) {
        out(`stopped: nothing answers at ${baseUrl}; is Countersign running there? (--url, or PORT)`);
        return 1;
      }
    }
  }
  out(
    `${rows.length - undecided} of ${rows.length} given a lane; ${departs} on another lane than the row expects` +
      (departs > 0
        ? " (each action's reasonCode says why: the contract, its budgets, a kill switch or an autonomy level; the contract's own table: apps/policy-engine/contract/countersign.contract.test.yaml)"
        : ''),
  );
  return undecided === 0 ? 0 : 1;
}

/**
 * The lane the policy gave the action: the view's `lane` once the policy engine decided it (a review-lane action is
 * `in_review` then, waiting for a person, so `awaitDecision` would wait for the reviewer too).
 */
async function laneOf(client: CountersignClient, actionId: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Accepted is not yet seen: the action's view is written from the events, a moment after the 202.
    const view = await client.status(actionId).catch((e: unknown) => {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    });
    if (view?.lane) return view.lane;
    if (Date.now() >= deadline)
      throw new Error(
        `action ${actionId} has no lane after ${timeoutMs} ms (${view ? `status ${view.status}${view.waiting ? `: ${view.waiting}` : ''}` : 'not known yet'})`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The most a scenarios file or a token file may hold. */
const MAX_INPUT_BYTES = 16 * 1024 * 1024;

// A regular file, opened without blocking: a named pipe with no writer held `open` for ever (red team, 2026-12-07).
function readText(file: string): string {
  try {
    return readRegularFile(file, MAX_INPUT_BYTES).toString('utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

function readRows(file: string): Row[] {
  const text = readText(file);
  const rows: Row[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    // Read as the server reads a proposal: parsed loosely and sent again, a key given twice would reach it as its last value.
    const parsed = parseStrictJson(line);
    if (!parsed.ok) throw new Error(`${file}:${i + 1}: ${parsed.problem === 'syntax' ? 'not JSON' : `not strict JSON (${parsed.problem})`}`);
    const row = parsed.value;
    const r = row as Partial<Row>;
    if (typeof r !== 'object' || r === null || typeof r.proposal !== 'object' || r.proposal === null)
      throw new Error(`${file}:${i + 1}: a row is {"proposal": {...}, "expectedLane": "..."}`);
    rows.push({ proposal: r.proposal, ...(typeof r.expectedLane === 'string' && { expectedLane: r.expectedLane }) });
  });
  if (rows.length === 0) throw new Error(`${file}: no rows`);
  return rows;
}

function readToken(file: string, defaultFile: boolean): string {
  try {
    return readRegularFile(file, MAX_INPUT_BYTES).toString('utf8').trim();
  } catch (e) {
    if (e instanceof InputFileError) throw new Error(`cannot read the token file: ${e.message}`);
    // The home's own token file missing is an older home; any other file, a path to check (first-user probe, 2026-12-07).
    if (!defaultFile) throw new Error(`no token at ${file}: no such file (--token-file)`);
    throw new Error(
      `no token at ${file}: a home made before 2026-12-05 has no tokens/scenarios; pass --token-file, or add a principal with the rows' agentIds to the home's tokens.json (README, "The example traffic")`,
    );
  }
}
