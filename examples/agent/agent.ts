// An example agent: proposes a small refund (autonomous: executed at once) and a large one (held for a human) to a
// running Countersign, and waits for their decisions with the SDK. Against the embedded mode (`npm start`):
//   COUNTERSIGN_TOKEN=$(cat .countersign/embedded/tokens/agent) node -r ./tools/register.js examples/agent/agent.ts
// Against HTTPS with a private PKI (the distributed mode): COUNTERSIGN_URL=https://127.0.0.1:<port> and
// COUNTERSIGN_CA_FILE=<the root it trusts: .stack/distributed/pki/root.pem for `npm run start:distributed`>.
import { readFileSync } from 'node:fs';
import { ActionView, CountersignClient, CountersignError, DecisionTimeoutError, ProposalInput, Proposed, proposeAgainReason } from '@countersign/client';

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

/** The work the agent was given: the two orders to refund (a real agent reads them from its queue). */
export interface Orders {
  small: string;
  large: string;
}

/**
 * Runs the agent once. `reviewWaitMs`: how long it waits for a human before it moves on (the action stays queued).
 * `orders`: the work (by default order-1001 and order-1002); run it again on the same orders and it finds the same actions.
 */
export async function main(options: {
  baseUrl: string;
  token: string;
  ca?: string;
  reviewWaitMs?: number;
  orders?: Orders;
  log?: (line: string) => void;
}): Promise<AgentRun> {
  const log = options.log ?? ((line: string) => console.log(line));
  const client = new CountersignClient({ baseUrl: options.baseUrl, token: options.token, ...(options.ca && { tls: { ca: options.ca } }) });
  const orders = options.orders ?? { small: 'order-1001', large: 'order-1002' };

  // The idempotency key is derived from the work item alone (the agent, the action, the order), never from the time or
  // a counter: a rerun after a crash sends the same key, and Countersign answers the action it already has, so nothing
  // is proposed twice. If a proposal fails, the key is printed: the same run again, or a person, resends under it.
  const proposeOnce = async (proposal: ProposalInput, what: string): Promise<Proposed> => {
    const idempotencyKey = `support-copilot:refund:${proposal.target}`;
    try {
      return await client.propose(proposal, { idempotencyKey });
    } catch (e) {
      const why = e instanceof CountersignError ? `${e.name}: ${e.message}` : String(e);
      // An answer (`httpStatus`) says what happened: a refusal (401, 400, 403…) took nothing, and the same proposal again
      // meets the same refusal. Only without one may a try have arrived unseen: then the key reaches that action.
      if (e instanceof CountersignError && e.httpStatus !== undefined) log(`could not propose ${what} (${why}): refused, nothing was accepted`);
      else log(`could not propose ${what} (${why}); it may have arrived: propose it again under idempotency key ${idempotencyKey}`);
      throw e;
    }
  };
  const small = await proposeOnce(refund(orders.small, 12.5, 'late delivery'), `the refund of ${orders.small}`);
  const large = await proposeOnce(refund(orders.large, 480, 'damaged item'), `the refund of ${orders.large}`);
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
    // The error's ids, not the error object: its JSON form leaves out the view and the cause.
    console.error(e instanceof CountersignError ? JSON.stringify(e) : `${e.name}: ${e.message}`);
    process.exit(1);
  });
}
