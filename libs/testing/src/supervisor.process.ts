// A supervisor as `npm run start:distributed` is one, in a process of its own that a test can kill: it starts one service
// with `startServiceProcess` (argv[2]: the app, argv[3]: a JSON object { env, port, logDir }), prints a line
// `ready <service pid> <url>` once the service is ready, and then waits until it is killed.
import { startServiceProcess } from './processes';

const [app, options] = process.argv.slice(2);
const { env, port, logDir } = JSON.parse(options) as { env: Record<string, string>; port: number; logDir: string };
startServiceProcess(app, env, { port, logDir }).then(
  (svc) => {
    process.stdout.write(`ready ${svc.process.pid} ${svc.url}\n`);
    // Kept alive by this timer alone: the service's channel and the child do not hold this process.
    setInterval(() => undefined, 60_000);
  },
  (e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  },
);
