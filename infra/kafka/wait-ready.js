// Waits until the broker answers metadata requests through kafkajs (the client the services use), signed in as the
// admin (KAFKA_SASL_PASSWORD_FILE: the broker's plaintext listener lets no anonymous client in).
const { readFileSync } = require('node:fs');
const { Kafka, logLevel } = require('kafkajs');
const [brokers, timeoutSec] = [process.argv[2], Number(process.argv[3] ?? 90)];
const deadline = Date.now() + timeoutSec * 1000;
const sasl = { mechanism: 'plain', username: 'admin', password: readFileSync(process.env.KAFKA_SASL_PASSWORD_FILE, 'utf8').trim() };
(async () => {
  for (;;) {
    const admin = new Kafka({ brokers: [brokers], sasl, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
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
