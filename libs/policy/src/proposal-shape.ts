import * as contracts from '@countersign/contracts';

// Bound once: a call through the package's re-exports goes through a getter each time (CommonJS `export *`), a tenth
// of this check's time on the decision path.
const { isFreeValueText, isIdentifier, isIdentifierText, isName, MAX_PROPOSAL_VALUE_DEPTH } = contracts;

/**
 * A fast, allocation-free "certainly valid" check of a proposal against `ProposalSchema` (libs/contracts), for the
 * decision's hot path: true only when every rule of the schema holds (a subset of what the schema accepts, checked
 * by `proposal-shape.spec.ts` against the schema itself). False means "not sure": the caller asks the schema, which
 * names the issues. Parsing with the schema on every decision was the largest allocation of a decision (ADR 0029).
 */
export function certainlyValidProposal(p: unknown): boolean {
  try {
    if (!isPlainObject(p)) return false;
    const r = p as Record<string, unknown>;
    if (typeof r.actionType !== 'string' || !ACTION_TYPE.test(r.actionType)) return false;
    if (!isName(r.target) || !isName(r.tenant) || !isName(r.region)) return false;
    if (typeof r.confidence !== 'number' || !Number.isFinite(r.confidence) || r.confidence < 0 || r.confidence > 1) return false;
    if (r.scopedToken !== undefined && !isIdentifier(r.scopedToken, 4096)) return false;
    const proposer = r.proposer as Record<string, unknown>;
    if (!isPlainObject(proposer) || !isName(proposer.agentId) || !isName(proposer.promptTemplateVersion)) return false;
    const model = proposer.model as Record<string, unknown>;
    if (!isPlainObject(model) || !isName(model.name) || !isName(model.version)) return false;
    if (!freeJsonObject(r.parameters)) return false;
    return r.context === undefined || freeJsonObject(r.context);
  } catch {
    return false; // a getter that throws, a proxy: the schema decides
  }
}

// The schema's own pattern for an action type (libs/contracts/src/events/proposal.ts).
const ACTION_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/**
 * An object of no class. Its symbol keys are not read: they are not data (JSON, the digest and the schema do not see
 * them, nor anything that reads the proposal after the decision), and listing them allocated a fifth of a decision.
 */
const isPlainObject = (v: unknown): boolean => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** `freeJsonObject()`: a plain object; within it, keys are identifiers, strings free text without bidi controls, numbers finite, at most 16 levels. */
function freeJsonObject(root: unknown): boolean {
  return isPlainObject(root) && freeValue(root, 1);
}

function freeValue(v: unknown, depth: number): boolean {
  if (typeof v === 'string') return isFreeValueText(v);
  if (typeof v === 'number') return Number.isFinite(v);
  if (v === null || typeof v !== 'object') return true;
  if (depth > MAX_PROPOSAL_VALUE_DEPTH) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!freeValue(v[i], depth + 1)) return false;
    return true;
  }
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    if (!isIdentifierText(k) || !freeValue((v as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}
