import type { RunningContract } from '@countersign/policy';
import type { FilterChoices } from './inbox.view';

/** The running contract's SLA classes and action types, read at each page (they follow approved contract changes). */
export const filterChoices =
  (running: RunningContract): (() => FilterChoices) =>
  () => {
    const contract = running.current();
    return { slaClasses: Object.keys(contract.slaClasses), actionTypes: Object.keys(contract.actions) };
  };
