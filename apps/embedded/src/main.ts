import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { loadConfigOrExit, refuseMisspelledSettingsOrExit, settings } from '@countersign/config';
import { EMBEDDED_READ_RATE, readRateOf, readRateSettings } from '@countersign/limits';
import { EMBEDDED_PROPOSAL_RATE, proposalRateOf, proposalRateSettings } from '@countersign/orchestrator/settings';
import type { EARLY_REFUSALS } from './home/before-loading';
import { plainHttpNotice } from './plain-http-notice';

const EmbeddedSettings = z.object({
  /** Where to listen; 127.0.0.1 (loopback) by default. An IPv6 address is refused: the embedded mode's URLs are `scheme://host:port`. */
  HOST: settings.host().refine((h) => isIP(h) !== 6, 'the embedded mode takes a host name or an IPv4 address (0.0.0.0 for every interface)'),
  PORT: settings.port(8080),
  /** The local identity provider the inbox signs in against (0: any free port; fix it to forward or tunnel it). */
  IDENTITY_PORT: settings.port(0),
  LOG_LEVEL: settings.logLevel(),
  COUNTERSIGN_HOME: settings.text(join(process.cwd(), '.countersign', 'embedded')),
  /** Where this machine notes how far each home had got, outside the home (docs/adr/0051); by default the user's state folder. */
  COUNTERSIGN_WITNESS_DIR: z
    .string()
    .refine((s) => s.trim() !== '', "set but blank: leave it unset for the default (the user's state folder), or name a folder")
    .optional(),
  /** Starts a home restored from a backup on purpose: what its refusal names (`restored:212`, `database-behind:250`…). */
  COUNTERSIGN_ACCEPT_RESTORE: z
    .string()
    .regex(/^(audit-behind|database-behind|restored):\d{1,15}$/, 'expected what a refusal names, e.g. restored:212')
    .optional(),
  /** HTTPS (both or neither): a certificate chain and key, PEM files; plain HTTP without. */
  HTTP_TLS_CERT_FILE: z
    .string()
    .refine((s) => s.trim() !== '', 'set but blank: leave it unset, or name a file')
    .optional(),
  HTTP_TLS_KEY_FILE: z
    .string()
    .refine((s) => s.trim() !== '', 'set but blank: leave it unset, or name a file')
    .optional(),
  /** The per-principal rate of `POST /v1/proposals` (docs/adr/0048). */
  ...proposalRateSettings(EMBEDDED_PROPOSAL_RATE),
  /** The per-principal rate of reads (GET, HEAD) over HTTP (docs/adr/0048, addendum 2026-12-07). */
  ...readRateSettings(EMBEDDED_READ_RATE),
});
const config = loadConfigOrExit(EmbeddedSettings);
refuseMisspelledSettingsOrExit([EmbeddedSettings]);

void (async () => {
  // The rest loads once the settings are taken and the home is checked: a setting refused above, a port in use or a home
  // that lost a part is said at once, not after Nest and the five services have loaded (1.5 s of CPU).
  const { checkBeforeLoading, EARLY_REFUSALS } = await import('./home/before-loading');
  try {
    await checkBeforeLoading({ home: config.COUNTERSIGN_HOME, host: config.HOST, port: config.PORT, identityPort: config.IDENTITY_PORT });
  } catch (e) {
    // Anything else is a defect: the start below meets it again and reports it, with its stack.
    if (saidAsRefusal(e, EARLY_REFUSALS)) process.exit(1);
  }
  const { createLogger, foreignSettings, httpTls, initTracing, startEmbedded, START_REFUSALS } = await import('./main-loaded-later');
  const logger = createLogger('countersign-embedded', { level: config.LOG_LEVEL });
  // One process, one trace per action across its in-memory hops (docs/adr/0025-tracing.md).
  const tracing = initTracing({ service: 'countersign-embedded' });
  try {
    const tls = httpTls(config);
    const running = await startEmbedded({
      home: config.COUNTERSIGN_HOME,
      host: config.HOST,
      port: config.PORT,
      identityPort: config.IDENTITY_PORT,
      proposalRate: proposalRateOf(config),
      readRate: readRateOf(config),
      witnessDir: config.COUNTERSIGN_WITNESS_DIR,
      acceptRestore: config.COUNTERSIGN_ACCEPT_RESTORE,
      // PGlite answers nothing after a PANIC and ignores SIGINT: stopped at once, in one line (disk probe, 2026-12-05).
      onDatabasePanic: (e) => {
        logger.fatal({ alert: 'database-panic', err: e }, `the database stopped working: ${e.message}`);
        process.stderr.write(
          `countersign (embedded) stopped: the database could not write (${e.message.split('\n')[0]}): nothing more can be recorded; ` +
            `fix the disk, then start it again (the next start settles what was in flight)\n`,
        );
        process.exit(1);
      },
      logger,
      tls,
    });
    // Listened for before the banner says it runs: Node takes a signal's default (an exit on the spot) until a listener
    // is set, and a supervisor may stop it as soon as it reads the banner (a test did, 2026-12-07).
    // A stop finishes what is in flight first (the consumers drain while the process still serves its stand-in target);
    // a second signal stops at once, and the next start settles what was left (the executor's reconciler).
    let stopping = false;
    const stop = async (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn(`${signal} again: stopping at once; the next start settles what was in flight`);
        process.exit(1);
      }
      stopping = true;
      logger.info(`${signal}: finishing what is in flight, then stopping (send it again to stop at once)`);
      await running.close();
      await tracing.shutdown();
      // Said where the banner was, at any log level: the stop finished (first-user probe, 2026-12-07: the last line
      // was "finishing what is in flight", and nothing told that it had).
      process.stdout.write(`Countersign (embedded) stopped: everything in flight finished; the next start goes on from here.\n`);
      process.exit(0);
    };
    process.on('SIGINT', (s) => void stop(s));
    process.on('SIGTERM', (s) => void stop(s));
    const foreign = foreignSettings(process.env, Object.keys(EmbeddedSettings.shape));
    if (foreign.length)
      logger.warn(
        { settings: foreign },
        `the embedded mode does not read ${foreign.join(', ')}: ${foreign.length === 1 ? 'a setting' : 'settings'} of the distributed services (npm run start:distributed); its own defaults and stand-in target apply`,
      );
    const rel = (p: string) => p.replace(`${process.cwd()}/`, '');
    logger.info({ url: running.url }, 'Countersign (embedded) is running');
    process.stdout.write(
      [
        '',
        `Countersign (embedded) is running on ${running.url}: all five services, one process, nothing else needed.`,
        tls ? `HTTPS with ${tls.certFile} (reloaded when renewed).` : plainHttpNotice(config.HOST),
        '',
        'Send a proposal (the agent token is in a file, never in a log):',
        `  curl -s -X POST ${running.url}/v1/proposals -H 'Content-Type: application/json' \\`,
        `    -H "Authorization: Bearer $(cat ${rel(join(running.home, 'tokens', 'agent'))})" -d @apps/embedded/examples/refund-small.json`,
        'Then follow it:',
        `  curl -s ${running.url}/v1/actions/<actionId> -H "Authorization: Bearer $(cat ${rel(join(running.home, 'tokens', 'agent'))})"`,
        `Review queue: GET ${running.url}/v1/reviews, POST ${running.url}/v1/reviews/<actionId>/approve {"reason": "..."} with tokens/reviewer`,
        `Reviewer inbox: ${running.inboxUrl} (sign in as alice, bob, carol, fiona, sam, lena or max; passwords in ${rel(running.identity.passwordsDir)}/)`,
        `  It signs in at the local identity provider ${running.identity.issuer} (IDENTITY_PORT fixes its port, e.g. for a tunnel).`,
        `Effects on the stand-in target (its own token, tokens/sink; without it: 401, audited):`,
        `  curl -s ${running.url}/_sink/effects -H "Authorization: Bearer $(cat ${rel(join(running.home, 'tokens', 'sink'))})"`,
        `Audit file: ${rel(join(running.home, 'audit', 'audit.jsonl'))}, verify it with`,
        `  npm run countersign -- audit verify --file ${rel(join(running.home, 'audit', 'audit.jsonl'))} --keys ${rel(join(running.home, 'audit', 'keys'))} --trust ${running.auditKey.fingerprint}`,
        `  (the fingerprint is this home's tree-head key: keep it, and the --head the command prints, outside this machine)`,
        `Kill switches and autonomy: off or lower with POST ${running.url}/v1/autonomy/<type>/kill-switch (or …/lower) with tokens/admin, or by editing ${rel(running.flagsFile)} (watched);`,
        `  on or higher again only through a raise request (…/v1/autonomy/<type>/raise-requests) that a second admin (tokens/admin2) approves.`,
        ...(existsSync(join(running.home, 'tokens', 'scenarios'))
          ? [
              'The example traffic (the shared scenarios: each proposal’s lane beside the one it expects):',
              `  npm run -s countersign -- scenarios --url ${running.url} --token-file ${rel(join(running.home, 'tokens', 'scenarios'))}${tls ? ' --ca <your root.pem>' : ''}`,
            ]
          : []),
        `Prometheus metrics: GET ${running.url}/metrics with tokens/metrics (the metrics role).`,
        '',
      ].join('\n'),
    );
  } catch (e) {
    // Something the operator can fix (the home, a file in it, a port): its one line, no stack. A defect keeps its stack.
    if (!saidAsRefusal(e, START_REFUSALS)) logger.fatal({ err: e }, `could not start: ${(e as Error).message}`);
    process.exit(1);
  }
})();

/** Says `e` in its one line, without a stack, when it is one of the start's `refusals`; false for anything else. */
function saidAsRefusal(e: unknown, refusals: typeof EARLY_REFUSALS): boolean {
  if (!refusals.some((refusal) => e instanceof refusal)) return false;
  process.stderr.write(`countersign (embedded) could not start: ${(e as Error).message}\n`);
  return true;
}
