export { CountersignClient } from './client';
export type { AwaitOptions, CountersignClientOptions } from './client';
export * from './errors';
export { fetchTrusting, type TlsTrust } from './tls-fetch';
export { PROPOSER_BACKLOG_FULL, proposeAgainReason, TENANT_BACKLOG_FULL } from './propose-again';
export { isDecided, isFinal } from './status';
export type { ActionStatus, ActionView, Proposed, ProposalInput, TimelineEntry } from './types';
