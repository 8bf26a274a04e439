// An example agent: proposes a small refund (autonomous: executed at once) and a large one (held for a human) to a
// running Countersign, and waits for their decisions with the SDK. Against the embedded mode (`npm start`):
//   COUNTERSIGN_TOKEN=$(cat .countersign/embedded/tokens/agent) node -r ./tools/register.js examples/agent/agent.ts
// Against HTTPS with a private PKI (the distributed mode): COUNTERSIGN_URL=https://127.0.0.1:<port> and
// COUNTERSIGN_CA_FILE=<the root it trusts, e.g. .stack/pki/root.pem>.
import { readFileSync } from 'node:fs';
import { ActionView, CountersignClient, DecisionTimeoutError, ProposalInput, proposeAgainReason } from '@countersign/client';

const refund = (target: string, amount: number, reason: string): ProposalInput => ({
  actionType: 'support.refund',
  target,
  parameters: { amount, currency: 'EUR', reason },
  proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
  confidence: 0.95,
  tenant: 'acme',
  region: 'eu-west',
});

export interface AgentRun {
  /** The small refund, once final (executed, unless a kill switch or the mode says otherwise). */
  small: ActionView;
  /** The large refund: its id, and where it stands when the agent stops waiting (in review until a human decides). */
  large: { actionId: string; view: ActionView | undefined; decided: boolean };
}

/** Runs the agent once. `reviewWaitMs`: how long it waits for a human before it moves on (the action stays queued). */
export async function main(options: { baseUrl: string; token: string; ca?: string; reviewWaitMs?: number; log?: (line: string) => void }): Promise<AgentRun> {
  const log = options.log ?? ((line: string) => console.log(line));
  const client = new CountersignClient({ baseUrl: options.baseUrl, token: options.token, ...(options.ca && { tls: { ca: options.ca } }) });
  const stamp = Date.now().toString(36);

  // The idempotency key is derived from what the agent means to do: a rerun after a crash proposes nothing twice.
  const small = await client.propose(refund(`order-${stamp}-s`, 12.5, 'late delivery'), { idempotencyKey: `refund-order-${stamp}-s` });
  const large = await client.propose(refund(`order-${stamp}-l`, 480, 'damaged item'), { idempotencyKey: `refund-order-${stamp}-l` });
  log(`proposed ${small.actionId} (12.50 EUR) and ${large.actionId} (480 EUR)`);

  const smallView = await client.awaitDecision(small.actionId, { timeoutMs: 60_000, waitFor: 'final' });
  // Not run: the code says why, and `proposeAgainReason` whether it passes (the backlog cap, a degradation mode, the trust
  // stack), so that a real agent proposes it again later under a new key.
  const why = smallView.reasonCode ? `, ${smallView.reasonCode}${proposeAgainReason(smallView) ? ': propose it again later' : ''}` : '';
  log(`${small.actionId}: ${smallView.status} (lane ${smallView.lane}${why})`);

  try {
    const view = await client.awaitDecision(large.actionId, { timeoutMs: options.reviewWaitMs ?? 5_000 });
    log(`${large.actionId}: ${view.status}`);
    return { small: smallView, large: { actionId: large.actionId, view, decided: true } };
  } catch (e) {
    if (!(e instanceof DecisionTimeoutError)) throw e;
    const view = e.lastView as ActionView | undefined;
    log(`${large.actionId}: ${view?.status ?? 'unknown'}, waiting for a human reviewer`);
    return { small: smallView, large: { actionId: large.actionId, view, decided: false } };
  }
}

if (require.main === module) {
  const token = process.env.COUNTERSIGN_TOKEN;
  if (!token) {
    console.error('COUNTERSIGN_TOKEN is not set (the embedded mode writes it to .countersign/embedded/tokens/agent)');
    process.exit(2);
  }
  const caFile = process.env.COUNTERSIGN_CA_FILE;
  main({ baseUrl: process.env.COUNTERSIGN_URL ?? 'http://127.0.0.1:8080', token, ...(caFile && { ca: readFileSync(caFile, 'utf8') }) }).catch((e: Error) => {
    console.error(`${e.name}: ${e.message}`);
    process.exit(1);
  });
}
