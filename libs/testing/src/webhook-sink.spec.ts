import { startWebhookSink } from './webhook-sink';

// real: the stand-in target `npm run start:distributed` and the end-to-end tests run, over HTTP on 127.0.0.1; fake: nothing.
describe('the webhook sink (the distributed mode’s stand-in target)', () => {
  it('records a POST of JSON as an effect; refuses anything else without recording it or stopping (distributed-mode probe, 2026-12-07)', async () => {
    const sink = await startWebhookSink();
    try {
      const notJson = await fetch(sink.url, { method: 'POST', body: 'hello' });
      expect([notJson.status, await notJson.json()]).toEqual([400, { message: 'the body is not JSON' }]);
      const get = await fetch(sink.url);
      expect(get.status).toBe(405);
      expect(sink.receipts).toEqual([]);
      const effect = await fetch(sink.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'k1', 'X-Countersign-Action-Id': 'a1' },
        body: JSON.stringify({ amount: 1 }),
      });
      expect(effect.status).toBe(200);
      expect(sink.effects('a1')).toBe(1);
    } finally {
      await sink.close();
    }
  });
});
