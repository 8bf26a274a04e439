// The port of the escalation notices the review clock sends (a chat channel, a pager). Adapter:
// `webhook-escalation-notifier.ts` (a generic webhook with a Slack-compatible body); none configured: no notice.

/**
 * What a notice may say about an item whose review is late: which action, its type and SLA class, when it is due and
 * where to look. Never its parameters, its target or any regulated data: the link leads to the review inbox, where
 * a reviewer signs in to see the rest.
 */
export interface EscalationNotice {
  kind: 'escalated' | 'rerouted';
  actionId: string;
  actionType: string;
  slaClass: string;
  dueAt: string;
}

export interface EscalationNotifier {
  /** Sends the notice, retrying a few times; never throws (a notice that cannot be sent is logged, and blocks nothing). */
  notify(notice: EscalationNotice): Promise<void>;
}

/** No notification target configured: the escalation's event (audited, on the action's timeline) is the notice. */
export const createNoEscalationNotifier = (): EscalationNotifier => ({ notify: async () => undefined });
