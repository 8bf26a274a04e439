import type { Logger } from '@countersign/logging';
import { EscalationNotice, EscalationNotifier } from './escalation-notifier';

export interface WebhookEscalationNotifierOptions {
  /** The webhook to POST to (`REVIEW_ESCALATION_WEBHOOK_URL`): a Slack incoming webhook, or anything that takes `{text, blocks}`. */
  url: string;
  /** The review inbox (`REVIEW_INBOX_URL`): a notice links to `<inbox>/reviews/<actionId>`. */
  inboxUrl: string;
  logger: Logger;
  /** Attempts per notice (default 4), the pause before the first retry, doubling (default 1 s), and each request's timeout (default 5 s). */
  attempts?: number;
  backoffMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The body a notice is sent as: Slack-compatible (`text` for any client, `blocks` for Slack), no action data but the link. */
export function noticeBody(notice: EscalationNotice, inboxUrl: string): { text: string; blocks: unknown[] } {
  const link = `${inboxUrl.replace(/\/+$/, '')}/reviews/${encodeURIComponent(notice.actionId)}`;
  const what =
    notice.kind === 'escalated'
      ? `Review escalated: ${notice.actionType} (${notice.slaClass}) is still waiting, due ${notice.dueAt}`
      : `Review re-routed to the fallback team: ${notice.actionType} (${notice.slaClass}) had no decision in time, now due ${notice.dueAt}`;
  const text = `${what}. Action ${notice.actionId}: ${link}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${what}.\n<${link}|Open action ${notice.actionId}>` } }] };
}

/**
 * Escalation notices to a generic webhook. A failed POST (unreachable, a 5xx, a timeout) is tried again a few times
 * with a growing pause; then it is logged and dropped: the escalation itself happened, is signed and audited, and does
 * not wait for a chat channel.
 */
export function createWebhookEscalationNotifier(options: WebhookEscalationNotifierOptions): EscalationNotifier {
  const { url, inboxUrl, logger, attempts = 4, backoffMs = 1_000, timeoutMs = 5_000 } = options;
  const post = options.fetch ?? fetch;
  return {
    async notify(notice) {
      const body = JSON.stringify(noticeBody(notice, inboxUrl));
      let problem = '';
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          const res = await post(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(timeoutMs) });
          if (res.ok) return;
          problem = `HTTP ${res.status}`;
          // A 4xx other than 429 will not get better by asking again.
          if (res.status < 500 && res.status !== 429) break;
        } catch (e) {
          problem = (e as Error).message;
        }
        if (attempt < attempts) await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1)));
      }
      logger.error({ actionId: notice.actionId, kind: notice.kind, problem }, 'could not send the escalation notice; the escalation stands (signed, audited)');
    },
  };
}
