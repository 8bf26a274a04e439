import pino from 'pino';
import { createWebhookEscalationNotifier } from './webhook-escalation-notifier';

// real: the webhook notifier (body, retries, giving up); fake: the HTTP client (a list of requests and scripted answers).
const notice = { kind: 'escalated' as const, actionId: 'a1', actionType: 'support.refund', slaClass: 'high', dueAt: '2026-11-24T10:15:00.000Z' };

function setup(answers: Array<number | Error>) {
  const requests: Array<{ url: string; body: unknown }> = [];
  const errors: unknown[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line)) });
  const fetch = (async (url: string, init: RequestInit) => {
    requests.push({ url, body: JSON.parse(String(init.body)) });
    const answer = answers.shift() ?? 200;
    if (answer instanceof Error) throw answer;
    return new Response(null, { status: answer });
  }) as unknown as typeof globalThis.fetch;
  const notifier = createWebhookEscalationNotifier({ url: 'https://hooks.example/T1', inboxUrl: 'https://inbox.example/', logger, backoffMs: 1, fetch });
  return { notifier, requests, errors };
}

describe('escalation notices to a webhook', () => {
  it('posts a Slack-compatible body with the action id, type, class, due time and a link: nothing of the action itself', async () => {
    const t = setup([200]);
    await t.notifier.notify(notice);
    expect(t.requests).toHaveLength(1);
    const body = t.requests[0].body as { text: string; blocks: unknown[] };
    expect(body.text).toContain('https://inbox.example/reviews/a1');
    expect(body.text).toMatch(/support\.refund \(high\).*2026-11-24T10:15:00\.000Z/);
    expect(body.blocks).toHaveLength(1);
    expect(JSON.stringify(body)).not.toMatch(/amount|currency|order-|parameters|target/);
  });

  it('retries a failing target a few times, then logs and returns without throwing', async () => {
    const t = setup([500, new Error('ECONNRESET'), 503, 502]);
    await expect(t.notifier.notify(notice)).resolves.toBeUndefined();
    expect(t.requests).toHaveLength(4);
    expect(t.errors).toEqual([expect.objectContaining({ actionId: 'a1', problem: 'HTTP 502' })]);
  });

  it('stops at a 4xx that asking again will not cure, and succeeds after a transient failure', async () => {
    const refused = setup([404]);
    await refused.notifier.notify(notice);
    expect(refused.requests).toHaveLength(1);
    const flaky = setup([503, 200]);
    await flaky.notifier.notify(notice);
    expect(flaky.requests).toHaveLength(2);
    expect(flaky.errors).toEqual([]);
  });
});
