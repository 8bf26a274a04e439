// npm run start:distributed — the five services as separate processes against the real stack
// (start it first with `npm run stack:up`), with a local webhook sink standing in for the target system.
// A second instance of any service: `npm run start:distributed -- --also executor` starts one more.
import { join } from 'node:path';
import { actionTypesOf, DEFAULT_CONTRACT_PATH } from '@countersign/policy-engine';
import { loadStackEnvFile, startDistributed, startWebhookSink } from '@countersign/testing';

async function main() {
  loadStackEnvFile();
  const also = process.argv.includes('--also') ? process.argv[process.argv.indexOf('--also') + 1] : undefined;
  const sink = await startWebhookSink();
  const dir = join(__dirname, '../.stack/distributed');
  const actionTypes = actionTypesOf(DEFAULT_CONTRACT_PATH);
  const stack = await startDistributed({ namespace: 'countersign_local', webhookUrl: sink.url, actionTypes, dir });
  if (also === 'orchestrator' || also === 'policy-engine' || also === 'review-queue' || also === 'executor' || also === 'audit-writer') {
    await stack.startInstance(also, `${also}-2`);
  }
  process.stdout.write(
    `Countersign (distributed) is running:\n${Object.entries(stack.urls)
      .map(([k, v]) => `  ${k.padEnd(14)} ${v}`)
      .join('\n')}\n` + `Tokens: ${join(dir, 'tokens')}/<agent|reviewer|auditor>   Logs: ${join(dir, 'logs')}   Target sink: ${sink.url}\n`,
  );
  const stop = async () => {
    await stack.stop();
    await sink.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e) => {
  process.stderr.write(`start:distributed failed: ${(e as Error).message}\n`);
  process.exit(1);
});
