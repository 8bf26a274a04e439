import { fixKafkajsRequestQueue, KAFKAJS_2_2_4_SCHEDULE_SHA256, kafkajsRequestQueue, sourceSha256 } from './kafkajs-request-queue';

// real: kafkajs' own RequestQueue, as its connections use it; fake: the socket (a request is "sent" by a function).
type Queue = {
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  push(request: object): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer | null; size: number }): void;
  checkPendingRequests(): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
};

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** A queue of one connection, and what it has sent, by correlation id. */
function connection(maxInFlightRequests: number | null = null) {
  const RequestQueue = kafkajsRequestQueue() as unknown as new (o: object) => Queue;
  const queue = new RequestQueue({ maxInFlightRequests, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'spec', broker: 'b', logger: silent });
  const sent: number[] = [];
  const request = (correlationId: number) => ({
    entry: { correlationId, apiName: 'Fetch', apiKey: 1, apiVersion: 11, resolve: () => undefined, reject: () => undefined },
    expectResponse: true,
    sendRequest: () => sent.push(correlationId),
  });
  const answer = (correlationId: number) => queue.fulfillRequest({ correlationId, payload: Buffer.alloc(0), size: 0 });
  return { queue, sent, request, answer };
}

describe('kafkajs request queues with nothing waiting (kafkajs 2.2.4, tulios/kafkajs#1556, docs/adr/0044)', () => {
  const queues: Queue[] = [];
  const open = (maxInFlight: number | null = null) => {
    const c = connection(maxInFlight);
    queues.push(c.queue);
    return c;
  };
  afterEach(() => queues.splice(0).forEach((q) => q.destroy()));

  it('the installed kafkajs is 2.2.4, whose empty queue re-arms a check for ever: a timer that fires every millisecond', () => {
    // Before the fix is applied in this test file's module registry.
    expect(sourceSha256(kafkajsRequestQueue().prototype.scheduleCheckPendingRequests)).toBe(KAFKAJS_2_2_4_SCHEDULE_SHA256);
    const { queue, request, answer } = open();
    queue.push(request(1));
    answer(1);
    // Nothing is pending and nothing throttles the connection, yet a check is armed...
    expect(queue.pending).toHaveLength(0);
    expect(queue.throttleCheckTimeoutId).not.toBeNull();
    // ...and the check, when it runs, arms the next one: the loop that kept idle services busy.
    clearTimeout(queue.throttleCheckTimeoutId!);
    queue.throttleCheckTimeoutId = null;
    queue.checkPendingRequests();
    expect(queue.throttleCheckTimeoutId).not.toBeNull();
  });

  describe('once fixed', () => {
    beforeAll(() => expect(fixKafkajsRequestQueue()).toBe(true));

    it('is fixed once, whatever the number of calls', () => {
      expect(fixKafkajsRequestQueue()).toBe(true);
      expect(sourceSha256(kafkajsRequestQueue().prototype.scheduleCheckPendingRequests)).not.toBe(KAFKAJS_2_2_4_SCHEDULE_SHA256);
    });

    it('arms nothing while nothing waits, after an answer or a check', () => {
      const { queue, sent, request, answer } = open();
      queue.push(request(1));
      expect(sent).toEqual([1]);
      answer(1);
      expect(queue.throttleCheckTimeoutId).toBeNull();
      queue.checkPendingRequests();
      expect(queue.throttleCheckTimeoutId).toBeNull();
    });

    it('still sends a request that waits for an in-flight slot, when the answer before it comes', () => {
      const { queue, sent, request, answer } = open(1);
      queue.push(request(1));
      queue.push(request(2));
      expect(sent).toEqual([1]);
      expect(queue.pending).toHaveLength(1);
      // A waiting request is looked at again (kafkajs' 10 ms check) as well as on the answer.
      expect(queue.throttleCheckTimeoutId).not.toBeNull();
      answer(1);
      expect(sent).toEqual([1, 2]);
      answer(2);
      expect(queue.pending).toHaveLength(0);
    });

    it('still sends a request held by a throttle once the throttle ends', async () => {
      const { queue, sent, request } = open();
      queue.maybeThrottle(30);
      const delivered = new Promise<void>((resolve) => {
        const r = request(1);
        queue.push({ ...r, sendRequest: () => (r.sendRequest(), resolve()) });
      });
      expect(sent).toEqual([]);
      await delivered; // waits for the event, however long the machine takes to run the timer
      expect(sent).toEqual([1]);
      expect(queue.throttleCheckTimeoutId).toBeNull();
    });
  });
});
