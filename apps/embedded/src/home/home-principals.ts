import { DEFAULT_PRINCIPALS, PrincipalSpec } from '@countersign/nest';

/**
 * The agents the shipped example traffic proposes as (`libs/contracts/fixtures/scenarios.jsonl`, the shared scenarios).
 * `home-principals.spec.ts` fails when a scenario names an agent this list lacks.
 */
export const SCENARIO_AGENT_IDS = [
  'analytics-agent',
  'code-agent',
  'finance-agent',
  'it-agent',
  'marketing-agent',
  'ops-agent',
  'platform-agent',
  'support-copilot',
] as const;

/**
 * The principals a new embedded home gets: the defaults, and `tokens/scenarios`, an agent that may propose as every agent
 * the example traffic names (for the tenant it names), so that `npm run countersign -- scenarios` can send it to a running
 * instance. It is an agent like the others: it decides nothing, and only its own actions are its to read.
 */
export const HOME_PRINCIPALS: PrincipalSpec[] = [
  ...DEFAULT_PRINCIPALS,
  { name: 'scenarios', principal: 'scenario-agents', kind: 'agent', roles: ['agent'], agentIds: [...SCENARIO_AGENT_IDS], tenants: ['acme'] },
];
