import { testFetch } from './https-client';

/** A small JSON HTTP client for tests: `call('POST', url, body, token)` → `{status, body}`; `https:` trusts the stack's root. */
export async function call(method: string, url: string, body?: unknown, token?: string, headers: Record<string, string> = {}) {
  const res = await testFetch(url, {
    method,
    headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed as Record<string, unknown> & { message?: string }, headers: res.headers };
}

/**
 * Turns an action type's kill switch on again the approved way, through the policy engine at `baseUrl`: one admin
 * asks (`POST /v1/autonomy/<type>/raise-requests`), another approves the request's digest (ADR 0014). A switch
 * turned on directly in the flag server is set back by the drift watcher. Throws unless both steps succeed.
 */
export async function approvedSwitchOn(baseUrl: string, actionType: string, admins: { requester: string; approver: string }): Promise<void> {
  const api = `${baseUrl}/v1/autonomy`;
  // A switch turned off in the flag server directly is recorded as the approved state by the drift watcher within about
  // a second. A request made before that record is refused at its approval ("requested before … was last changed:
  // request it again", 409: the state moved under it); as an admin would, the test asks again, a few times at most.
  for (let attempt = 1; ; attempt++) {
    const asked = await call('POST', `${api}/${actionType}/raise-requests`, { killSwitch: 'on', reason: 'test: on again' }, admins.requester);
    if (asked.status !== 201) throw new Error(`raise request for ${actionType}: ${asked.status} ${JSON.stringify(asked.body)}`);
    const { id, digest } = asked.body as { id: string; digest: string };
    const approved = await call('POST', `${api}/raise-requests/${id}/approve`, { digest, reason: 'test: checked' }, admins.approver);
    if (approved.status === 200) return;
    const again = approved.status === 409 && /request it again/.test(String(approved.body.message)) && attempt < 5;
    if (!again) throw new Error(`raise approval for ${actionType}: ${approved.status} ${JSON.stringify(approved.body)}`);
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
}
