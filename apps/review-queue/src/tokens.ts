/** DI tokens of the review queue's ports. */
export const REVIEW_ITEMS = Symbol('ReviewItemRepository');
export const APPROVAL_SIGNING_KEY = Symbol('ApprovalSigningKey');
export const PROPOSAL_SEALER = Symbol('ProposalSealer');
