import { DecisionRepository, KeptDecision, StoredDecision } from './decision.repository';

/** The in-process twin (embedded mode, unit tests). */
export class InMemoryDecisionRepository implements DecisionRepository {
  private readonly decisions = new Map<string, { nonce: string; decision: StoredDecision }>();

  async get(actionId: string) {
    const d = this.decisions.get(actionId);
    return d && structuredClone(d.decision);
  }

  async keep(decision: StoredDecision, nonce: string): Promise<KeptDecision> {
    if (!this.decisions.has(decision.subject)) this.decisions.set(decision.subject, structuredClone({ nonce, decision }));
    const stored = this.decisions.get(decision.subject)!;
    return { decision: structuredClone(stored.decision), mine: stored.nonce === nonce };
  }
}

/** The first decisions in process: the embedded mode's. */
export const createInMemoryDecisionRepository = (): DecisionRepository => new InMemoryDecisionRepository();
