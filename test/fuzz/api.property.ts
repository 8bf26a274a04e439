import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { ProposalSchema } from '@countersign/contracts';
import { checkParameters, compileContract, loadContractFile } from '@countersign/policy';
import { startEmbedded } from '../../apps/embedded/src/embedded';
import { requestBody } from './proposals.arbitrary';

export interface ApiFuzzResult {
  requests: number;
  byStatus: Record<number, number>;
  accepted: number;
  executed: number;
}

/** The agent the embedded agent token may propose as. */
const AGENT_ID = 'support-copilot';

const ALLOWED = new Set([202, 400, 401, 403, 409, 413, 415, 422, 429, 503]);

/** Reads what the embedded audit file holds (one JSON entry a line). */
function auditEntries(home: string): Array<{ entry: { eventType: string; correlationId: string; actionId: string; data: unknown } }> {
  return readFileSync(join(home, 'audit', 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** The reason an audited rejection names. */
const auditedReason = (e: { entry: { data: unknown } }): string => String((e.entry.data as { reason?: unknown }).reason ?? '');

async function until(what: string, check: () => Promise<string | undefined> | string | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let problem = await check();
  while (problem !== undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    problem = await check();
  }
  if (problem !== undefined) throw new Error(`${what}: ${problem}`);
}

/**
 * The embedded HTTP API on arbitrary request bodies: never a 5xx or a crash; nothing that fails validation
 * is accepted (so nothing invalid executes); every rejection is in the audit trail; every accepted action
 * leaves `proposed` (no stuck action).
 */
export async function fuzzApi(runs: number, seed?: number, onProgress?: (done: number) => void): Promise<ApiFuzzResult> {
  const home = mkdtempSync(join(tmpdir(), 'countersign-fuzz-'));
  // The properties are about what is read, not how fast: the per-principal rates (docs/adr/0048) are out of the way.
  const unlimited = { perSecond: 1_000_000, burst: 1_000_000, inFlight: 1_000_000 };
  const running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }), proposalRate: unlimited, readRate: unlimited });
  const token = readFileSync(join(home, 'tokens', 'agent'), 'utf8');
  const compiled = compileContract(loadContractFile(join(__dirname, '../../apps/policy-engine/contract/countersign.contract.yaml')));
  const byStatus: Record<number, number> = {};
  const rejected: string[] = [];
  // Rejected without a valid token: beyond their source's budget these are audited as counted summaries (docs/adr/0034).
  const anonymous = new Set<string>();
  const accepted: string[] = [];
  let n = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        requestBody(AGENT_ID),
        fc.oneof({ weight: 19, arbitrary: fc.constant(token) }, { weight: 1, arbitrary: fc.constantFrom('', 'not-a-token', `${token}x`) }),
        async ({ kind, body }, bearer) => {
          const correlationId = `fuzz-${++n}`;
          const res = await fetch(`${running.url}/v1/proposals`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'X-Correlation-Id': correlationId, ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) },
            body,
          });
          const text = await res.text();
          byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
          onProgress?.(n);
          if (!ALLOWED.has(res.status)) throw new Error(`${kind} body answered ${res.status}: ${text.slice(0, 300)}`);
          if (res.status !== 202) {
            rejected.push(correlationId);
            if (bearer !== token) anonymous.add(correlationId);
            return;
          }
          if (kind === 'duplicate-key' || kind === 'invalid-utf8' || kind === 'bytes')
            throw new Error(`a ${kind} body was accepted: ${body.toString('utf8').slice(0, 300)}`);
          const parsed = ProposalSchema.safeParse(JSON.parse(body.toString('utf8')));
          if (!parsed.success) throw new Error(`a proposal failing its schema was accepted: ${body.toString('utf8').slice(0, 300)}`);
          const issues = checkParameters(compiled, parsed.data);
          if (issues.length) throw new Error(`a proposal with invalid parameters (${issues[0].pointer} ${issues[0].rule}) was accepted`);
          accepted.push((JSON.parse(text) as { actionId: string }).actionId);
        },
      ),
      { numRuns: runs, seed },
    );

    // Every rejection is on the record; every accepted action moved on; only accepted actions had effects.
    await until(
      'rejections missing from the audit trail',
      () => {
        const entries = auditEntries(home).filter((e) => e.entry.eventType === 'security.request.rejected.v1');
        const audited = new Set(entries.map((e) => e.entry.correlationId));
        const summarised = (of: RegExp) => entries.reduce((n, e) => n + Number(of.exec(auditedReason(e))?.[1] ?? 0), 0);
        const missing = rejected.filter((c) => !audited.has(c));
        // A rejection may be missing one by one only beyond its budget, and only as many as the summaries count: an
        // unauthenticated one by its source's, the agent's by its principal's (docs/adr/0034).
        const missingAnonymous = missing.filter((c) => anonymous.has(c)).length;
        const unaccounted =
          Math.max(0, missingAnonymous - summarised(/^(\d+) more unauthenticated requests/)) +
          Math.max(0, missing.length - missingAnonymous - summarised(/^(\d+) more requests from principal /));
        return unaccounted ? `${unaccounted} of ${rejected.length}, e.g. ${missing.slice(0, 3).join(', ')}` : undefined;
      },
      30_000,
    );
    const acceptedSet = new Set(accepted);
    await until(
      'accepted actions stuck in proposed',
      async () => {
        const views = await Promise.all(
          accepted.map(
            async (id) =>
              (await (await fetch(`${running.url}/v1/actions/${id}`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { status?: unknown },
          ),
        );
        // An answer that is not a view (a refusal) says nothing of the action: it is not counted as moved on.
        const stuck = accepted.filter((_, i) => typeof views[i].status !== 'string' || views[i].status === 'proposed');
        return stuck.length ? `${stuck.length} of ${accepted.length}, e.g. ${stuck.slice(0, 3).join(', ')}` : undefined;
      },
      30_000,
    );
    const foreign = running.sink.effects.filter((e) => !acceptedSet.has(e.actionId));
    if (foreign.length) throw new Error(`${foreign.length} effects of actions that were never accepted`);
    return { requests: n, byStatus, accepted: accepted.length, executed: running.sink.effects.length };
  } finally {
    await running.close();
  }
}
