/**
 * Group commit (docs/adr/0028): concurrent writes collected and written together, in one transaction and one
 * durable commit, each caller resolved with its own result only once that commit returned. The classic way to get
 * thousands of durable commits a second on one disk: the commit's flush is paid once per batch, not once per write.
 *
 * - No timer to tune: while a batch is being written the next one collects, so batches grow with the load (one
 *   request alone is written at once, in the next turn of the event loop, with whatever came in the same turn).
 * - Order: requests are written in the order they came; a request whose key is already in the batch being collected,
 *   or in one being written, waits for a later batch (two writes of one item are never in one transaction: the later
 *   one sees what the earlier one committed, and batches in flight touch distinct keys, so they never deadlock).
 * - Lock order: each batch is handed to `write` in key order, so that every batch (of this batcher or another one on
 *   the same rows, in this process or another) locks its rows in one order: two batches never wait on each other in
 *   a cycle. (PostgreSQL may still choose another plan; a deadlock it breaks fails one batch, written again below.)
 * - One failure does not fail the others: when a batch's write throws, each of its requests is written again on its
 *   own, and only the ones that throw then are rejected.
 */
export interface GroupCommitOptions {
  /** The most requests in one batch (the multi-row statement's size). */
  maxBatch: number;
  /** The most batches being written at once (each on its own connection). */
  maxInFlight: number;
}

interface Pending<I, O> {
  input: I;
  key: string;
  resolve: (out: O) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit<I, O> {
  private readonly queue: Array<Pending<I, O>> = [];
  /** Keys of the batches being written. */
  private readonly writing = new Set<string>();
  private inFlight = 0;
  private scheduled = false;

  /**
   * @param write writes a batch in one transaction and returns one result per input, in order; resolves only once
   *   the batch is committed.
   * @param key the item a request writes (requests with the same key are never batched together).
   */
  constructor(
    private readonly write: (batch: I[]) => Promise<O[]>,
    private readonly key: (input: I) => string,
    private readonly options: GroupCommitOptions = { maxBatch: 256, maxInFlight: 1 },
  ) {}

  /** Writes `input` with the others submitted about now; resolves with its result once committed. */
  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, key: this.key(input), resolve, reject });
      this.schedule();
    });
  }

  /** Requests waiting for a batch (tests, diagnostics). */
  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight || !this.queue.length) return;
    this.scheduled = true;
    // The rest of this turn's requests join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length) {
      const batch = this.take();
      if (!batch.length) return; // every waiting key is being written: the batch writing it starts the next one.
      this.inFlight++;
      for (const p of batch) this.writing.add(p.key);
      void this.run(batch).finally(() => {
        for (const p of batch) this.writing.delete(p.key);
        this.inFlight--;
        this.schedule();
      });
    }
  }

  /** The next batch: the oldest requests, in order, at most one per key and none whose key is being written. */
  private take(): Array<Pending<I, O>> {
    const batch: Array<Pending<I, O>> = [];
    const keys = new Set<string>();
    for (let i = 0; i < this.queue.length && batch.length < this.options.maxBatch;) {
      const p = this.queue[i];
      // A later request of a key skipped here also waits: requests of one key keep their order.
      if (keys.has(p.key) || this.writing.has(p.key)) {
        keys.add(p.key);
        i++;
        continue;
      }
      keys.add(p.key);
      batch.push(p);
      this.queue.splice(i, 1);
    }
    return batch.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private async run(batch: Array<Pending<I, O>>): Promise<void> {
    try {
      const out = await this.write(batch.map((p) => p.input));
      if (out.length !== batch.length) throw new Error(`a batch of ${batch.length} writes returned ${out.length} results`);
      batch.forEach((p, i) => p.resolve(out[i]));
    } catch (e) {
      if (batch.length === 1) return batch[0].reject(e);
      // One bad request must not fail the others: each again on its own, one after the other (still in order).
      for (const p of batch) {
        try {
          const [out] = await this.write([p.input]);
          p.resolve(out);
        } catch (own) {
          p.reject(own);
        }
      }
    }
  }
}
