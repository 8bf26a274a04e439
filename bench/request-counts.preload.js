// Preloaded into each service by bench:spine when BENCH_COUNT_REQUESTS=1 (`node -r`): counts the round trips the process
// starts — Kafka requests by API (kafkajs' connection), PostgreSQL queries (pg's client) and Redis commands (ioredis) —
// and writes the running totals to `$COUNTERSIGN_REQUEST_COUNTS_DIR/<pid>.json` every 100 ms. A diagnostic: it wraps
// three library methods, so it is off in the figures the README gives. Plain JavaScript: it runs before the TypeScript
// loader.
'use strict';
const { renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.COUNTERSIGN_REQUEST_COUNTS_DIR;
if (dir) {
  const counts = {};
  const count = (key) => (counts[key] = (counts[key] ?? 0) + 1);
  const from = { paths: [process.cwd()] };
  /** Wraps `owner[method]` so that each call counts under `key(...args)` first. */
  const wrap = (owner, method, key) => {
    const original = owner[method];
    owner[method] = function (...args) {
      count(key(...args));
      return original.apply(this, args);
    };
  };
  wrap(require(require.resolve('kafkajs/src/network/connection', from)).prototype, 'send', ({ request }) => `kafka.${request.apiName}`);
  wrap(require(require.resolve('pg', from)).Client.prototype, 'query', () => 'postgres');
  const ioredis = require(require.resolve('ioredis', from));
  wrap((ioredis.default ?? ioredis).prototype, 'sendCommand', () => 'redis');
  const file = join(dir, `${process.pid}.json`);
  setInterval(() => {
    // Whole or not at all: a reader never sees half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify(counts));
    renameSync(`${file}.tmp`, file);
  }, 100).unref();
}
