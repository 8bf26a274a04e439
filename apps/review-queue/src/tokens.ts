/** DI tokens of the review queue's ports. */
export const REVIEW_ITEMS = Symbol('ReviewItemRepository');
export const APPROVAL_SIGNING_KEY = Symbol('ApprovalSigningKey');
export const PROPOSAL_SEALER = Symbol('ProposalSealer');
/** How often the decision outbox is swept, and after how long (`DecisionOutboxSettings`); defaults when not provided. */
export const DECISION_OUTBOX_SETTINGS = Symbol('DecisionOutboxSettings');
