// Waits until the broker answers metadata requests through kafkajs (the client the services use).
const { Kafka, logLevel } = require('kafkajs');
const [brokers, timeoutSec] = [process.argv[2], Number(process.argv[3] ?? 90)];
const deadline = Date.now() + timeoutSec * 1000;
(async () => {
  for (;;) {
    const admin = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      await admin.disconnect();
      process.exit(0);
    } catch {
      await admin.disconnect().catch(() => undefined);
      if (Date.now() > deadline) process.exit(1);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
})();
