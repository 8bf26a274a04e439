import type { Proposal } from '@countersign/contracts';
import { fetchTrusting } from '@countersign/client';
import type { DrillTarget } from './target';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/** An action as `GET /v1/actions/{id}` shows it (the fields the drills read). */
export interface ActionView {
  actionId: string;
  status: string;
  lane?: string | null;
  /** Why the action has its status, where the deciding event gives a code (on `prohibited`: the rule, `kill-switch:off`). */
  reasonCode?: string;
  /** Why the action waits, for a person: a flag source that cannot be read, an outcome being settled. */
  waiting?: string;
  /** A policy decision's entry has its lane, and its detail is `contract <version>: <reasons, the deciding one first>`. */
  timeline: Array<{ type: string; status: string; time: string; detail: string; lane?: string; reasonCode?: string }>;
}

/** The statuses where an action's life has ended (nothing more will happen to it without a new proposal). */
export const END_STATUSES = new Set(['executed', 'failed', 'prohibited', 'rejected', 'expired', 'refused']);

/**
 * The drills' view of Countersign: the same HTTP API agents, reviewers and operators use, with the target's tokens. A
 * network error is an answer too (status 0), so a drill can report what an agent saw during an outage.
 */
export class DrillClient {
  /** `https:` urls of a private PKI are reached trusting the target's root (and nothing else). */
  private readonly fetch: typeof fetch;
  /** Which token proposed each action: an agent's token reads only its own actions. */
  private readonly proposedAs = new Map<string, string>();

  constructor(private readonly target: DrillTarget) {
    this.fetch = target.ca ? fetchTrusting({ ca: target.ca }) : globalThis.fetch;
  }

  private async call<T>(base: keyof DrillTarget['urls'], method: string, path: string, as: string, body?: unknown, headers: Record<string, string> = {}) {
    const token = this.target.tokens[as];
    if (!token) throw new Error(`the target has no token for ${as}`);
    try {
      const res = await this.fetch(`${this.target.urls[base]}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body !== undefined && { 'Content-Type': 'application/json' }), ...headers },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : {}) as T } satisfies Answer<T>;
    } catch (e) {
      return { status: 0, body: { error: (e as Error).message } as T } satisfies Answer<T>;
    }
  }

  /** Proposes as the target's `agent` (or another agent principal: `agent2` proposes as `ops-copilot`). */
  async propose(p: Proposal, as = 'agent', idempotencyKey?: string) {
    const answer = await this.call<{ actionId?: string; status?: string; message?: string }>('orchestrator', 'POST', '/v1/proposals', as, p, {
      ...(idempotencyKey && { 'Idempotency-Key': idempotencyKey }),
    });
    if (answer.body.actionId) this.proposedAs.set(answer.body.actionId, as);
    return answer;
  }

  action(id: string) {
    return this.call<ActionView>('orchestrator', 'GET', `/v1/actions/${encodeURIComponent(id)}`, this.proposedAs.get(id) ?? 'agent');
  }

  policy() {
    return this.call<{ version: string; actionTypes: string[] }>('policyEngine', 'GET', '/v1/policy', 'agent');
  }

  reviews(as = 'reviewer') {
    return this.call<{ items?: Array<{ actionId: string; status: string }> } & Record<string, unknown>>('reviewQueue', 'GET', '/v1/reviews?limit=500', as);
  }

  item(id: string, as = 'reviewer') {
    return this.call<Record<string, unknown>>('reviewQueue', 'GET', `/v1/reviews/${encodeURIComponent(id)}`, as);
  }

  decide(id: string, decision: 'approve' | 'reject', reason: string, as = 'reviewer') {
    return this.call('reviewQueue', 'POST', `/v1/reviews/${encodeURIComponent(id)}/${decision}`, as, { reason });
  }

  governance(as = 'admin') {
    return this.call<Record<string, unknown> & { mode?: string }>('reviewQueue', 'GET', '/v1/governance', as);
  }

  /** Waits until `done` holds for the action's view (or `ms` passes); returns the last view seen (undefined: never found). */
  async waitForAction(id: string, done: (v: ActionView) => boolean, ms: number, everyMs = 250): Promise<ActionView | undefined> {
    const until = Date.now() + ms;
    let last: ActionView | undefined;
    for (;;) {
      const a = await this.action(id);
      if (a.status === 200) last = a.body;
      if ((last && done(last)) || Date.now() >= until) return last;
      await sleep(everyMs);
    }
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
