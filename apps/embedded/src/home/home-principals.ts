import { DEFAULT_PRINCIPALS, PrincipalSpec, SCENARIOS_PRINCIPAL } from '@countersign/nest';

/** The principals a new embedded home gets: the defaults, and `tokens/scenarios` (`SCENARIOS_PRINCIPAL`). */
export const HOME_PRINCIPALS: PrincipalSpec[] = [...DEFAULT_PRINCIPALS, SCENARIOS_PRINCIPAL];
