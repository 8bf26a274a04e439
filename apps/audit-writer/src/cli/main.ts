import { closeSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { keyFingerprint } from '@countersign/audit-chain';
import type { LoggedEntry, TreeAnchor, TreeHead, VerifyResult } from '@countersign/audit-chain';
import { loadVerifyKeys } from '@countersign/keys';
import type { VerifyKey } from '@countersign/keys';
import { createProgress } from '@countersign/logging';
import { createPgAuditLog } from '../log-store/pg-audit-log.repository';
import { buildSegment, SegmentRangeError } from '../query/segment';
import {
  adoptedUnsigned,
  completeness,
  consistency,
  consistencyInFile,
  embeddedHeadStoreOf,
  embeddedKeysOf,
  Io,
  keyIdClash,
  loadHeadDir,
  prove,
  proveInFile,
  recoveryIn,
  RecoveryRecord,
  recoveryReport,
  verifyAuditFile,
  verifyDatabase,
  verifySegmentFile,
} from './audit-commands';
import { InaccessibleFile, writing } from '@countersign/config';
import { checkReadable, openInput, readInput } from './files';

const USAGE = `countersign audit <command>
  verify --database URL --keys FILE|DIR [--heads-dir DIR]     the log in PostgreSQL against the signed heads
  verify --segment FILE --keys FILE|DIR [--heads-dir DIR]     an exported segment file, offline
  verify --file AUDIT.jsonl [--keys FILE|DIR] [--heads-dir DIR]  the embedded mode's audit file (audit/audit.jsonl),
                                                              with the heads and keys beside it (tree-heads.jsonl, heads/, keys/)
    each verify also takes, any number of times:
    --trust FINGERPRINT   accept only heads signed by this key: the hex SHA-256 of its public key's SPKI DER
                          (openssl pkey -pubin -outform DER | openssl dgst -sha256). Without it the keys of --keys
                          are taken as they are, and a warning on stderr lists them with their fingerprints
    --head SIZE:ROOT      a head recorded earlier, elsewhere: the log must have this size and this (hex) root,
                          which a log cut short or rewritten and signed again does not
    and once: --strict    fail a log that records a recovery at the writer's start (below); without it, exit 0
    every entry that records a recovery (audit.log.recovered.v1: entries adopted past every signed head, a torn line
    set aside) is listed with its index (stderr), and the verdict names the entries adopted unsigned; a verified log ends with the --trust and --head values to record
    outside this machine (stderr)
  prove --database URL --index N [--tree-size S]              an inclusion proof of one entry
  prove --file AUDIT.jsonl --index N [--tree-size S]          the same from the embedded audit file, once it verifies
                                                              (--keys, --heads-dir, --trust, --head: as verify --file;
                                                              unpinned, a warning on stderr)
  consistency HEAD1.json HEAD2.json --database URL --keys F   that the log only grew between two heads
  consistency HEAD1.json HEAD2.json --file AUDIT.jsonl        the same from the embedded audit file, once it verifies
    [--trust FINGERPRINT]                                     as verify: accept only heads signed by pinned keys
  completeness --database URL --since ISO-TIME                actions without a complete chain
  export --database URL [--from N] [--to M] [--out FILE]      a signed segment file (stdout by default), for
                                                              offline verification or \`countersign policy replay\`
Exit code: 0 verified (or exported), 1 a problem was found (a log to verify that cannot be read included), 2 bad usage (any other file that cannot be read or written included).`;

/** How often, and how long apart, `verify --file` looks again at a log being written whose newest entries are not signed yet. */
const LIVE_LOOKS = 5;
const LIVE_LOOK_MS = 2_000;

/** The verdict on entries past every signed head (libs/audit-chain `segment.ts`). */
const isUnsignedTail = (problem: string) => problem.endsWith('are not covered by any signed tree head');

/** Whether `file` changed in the last 10 s: its writer is running. */
const writtenLately = (file: string) => {
  try {
    return Date.now() - statSync(file).mtimeMs < 10_000;
  } catch {
    return false;
  }
};

/** `countersign audit …`; returns the exit code. */
export async function runAuditCli(
  argv: string[],
  io: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) },
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    io.out(USAGE);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (e) {
    io.err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const {
    values: v,
    positionals: [command, ...rest],
  } = parsed;
  const need = (k: keyof typeof v) => {
    if (!v[k]) throw new UsageError(`--${k} is required for ${command}`);
    return v[k] as string;
  };
  // Opened only when a command that needs it gets that far: a bad argument is answered before any connection.
  let log: ReturnType<typeof createPgAuditLog> | undefined;
  /** The audit store of `--database`, which the command asking requires. */
  const store = () => (log ??= createPgAuditLog(need('database'), 2));
  try {
    checkCommandLine(command, v, rest);
    switch (command) {
      case 'verify': {
        if ([v.segment, v.file, v.database].filter(Boolean).length > 1) throw new UsageError('verify takes one of --database, --segment and --file');
        const pinned = (v.trust ?? []).map(fingerprintArg);
        const anchors = (v.head ?? []).map(anchorArg);
        // A log that has gone is said as such before its keys are looked for beside it (`--file /missing` answered
        // "--keys is required"): FAILED, exit 1, as when the keys are named.
        if (v.file && !v.keys && !existsSync(embeddedKeysOf(v.file))) {
          try {
            closeSync(openInput(v.file));
          } catch (e) {
            if (!(e instanceof InaccessibleFile)) throw e;
            io.out(`FAILED: ${e.message}`);
            return 1;
          }
        }
        // The embedded mode's keys sit beside its audit file (audit/keys), as its head store does: used unless others are named.
        const keysPath = v.keys ?? (v.file && existsSync(embeddedKeysOf(v.file)) ? embeddedKeysOf(v.file) : need('keys'));
        checkReadable(keysPath, 'file or directory');
        const keys = loadVerifyKeys(keysPath);
        const clash = keyIdClash(keys);
        if (clash) {
          io.out(`FAILED: ${clash}`);
          return 1;
        }
        const prints = new Set(keys.map((k) => keyFingerprint(k.publicKey)));
        for (const p of pinned) if (!prints.has(p)) io.err(`note: --trust ${p} is the fingerprint of no key in ${keysPath}`);
        // The entries that record a recovery, listed once the log verifies (stderr, for a person): then a head signs each.
        const recovered: RecoveryRecord[] = [];
        const onEntry = (e: LoggedEntry) => {
          const r = recoveryIn(e);
          if (r) recovered.push(r);
        };
        const options = { ...(pinned.length && { pinned }), anchors, onEntry };
        // The embedded mode's head store sits beside its audit file: used unless another one is named.
        const headsDir = v['heads-dir'] ?? (v.file && existsSync(embeddedHeadStoreOf(v.file)) ? embeddedHeadStoreOf(v.file) : undefined);
        // Read here, before the log: a head store that cannot be read is bad usage, not a log that has gone.
        const firstHeads = loadHeadDir(headsDir);
        const verifyOnce = (trusted: ReturnType<typeof loadHeadDir>) => {
          recovered.length = 0;
          // On a terminal, the entries verified so far (stderr; nothing when piped).
          const progress = createProgress('audit verify: entries verified');
          return Promise.resolve(
            v.file
              ? verifyAuditFile(v.file, keys, trusted, { ...options, progress })
              : v.segment
                ? verifySegmentFile(v.segment, keys, trusted, options)
                : verifyDatabase(store(), keys, trusted, { ...options, progress }),
          ).finally(() => progress.finish());
        };
        let result: Awaited<ReturnType<typeof verifyAuditFile>>;
        try {
          result = await verifyOnce(firstHeads);
          // A log file being written (a running embedded instance) has entries its writer has not signed yet: it signs
          // them within seconds. Looked at again while the file keeps changing, never accepted unsigned: a tail that stays
          // past every head fails as before (docs/adr/0005).
          for (let look = 1; !result.ok && v.file && look <= LIVE_LOOKS && isUnsignedTail(result.problem) && writtenLately(v.file); look++) {
            io.err(
              `note: entries from ${result.firstBadIndex} on are not signed yet and ${v.file} is being written: looking again in ${LIVE_LOOK_MS / 1000} s`,
            );
            await new Promise((r) => setTimeout(r, LIVE_LOOK_MS));
            result = await verifyOnce(loadHeadDir(headsDir));
          }
        } catch (e) {
          // The log itself cannot be read (deleted, replaced by a directory): it does not verify. A failed verdict (exit
          // 1), not bad usage, so a monitor that alarms on FAILED sees a log that has gone.
          if (e instanceof InaccessibleFile && (e.file === v.file || e.file === v.segment)) {
            io.out(`FAILED: ${e.message}`);
            return 1;
          }
          throw e;
        }
        if (!result.ok) {
          io.out(`FAILED at index ${result.firstBadIndex}: ${result.problem}`);
          return 1;
        }
        for (const line of recoveryReport(recovered)) io.err(line);
        if (v.strict && recovered.length) {
          const [first] = recovered;
          io.out(`FAILED at index ${first.index}: entry ${first.index} records a recovery at the writer's start, and --strict refuses any (listed on stderr)`);
          return 1;
        }
        // stdout keeps the one-line verdict; what a person should compare and keep goes to stderr.
        io.out(
          `verified: ${verdict(result)}, ${result.headsChecked} signed head${result.headsChecked === 1 ? '' : 's'}, root ${result.root}${adoptedUnsigned(recovered)}`,
        );
        for (const line of signersReport(result, keysPath, pinned.length > 0)) io.err(line);
        return 0;
      }
      case 'prove': {
        const index = entryIndexArg('index', need('index'));
        const treeSize = v['tree-size'] === undefined ? undefined : entryIndexArg('tree-size', v['tree-size']);
        if (v.file && v.database) throw new UsageError('prove takes one of --database and --file');
        // The embedded file is verified whole first, with the keys and head store beside it unless others are named.
        // As verify: with --trust, only heads signed by the pinned keys count; with --head, the log must hold that tree.
        // Without --trust, a log rewritten and signed again with a key of the rewriter's own proves "verified" (operator
        // CLI probe, 2026-12-06): said on stderr, as verify says it.
        const pinned = (v.trust ?? []).map(fingerprintArg);
        const anchors = (v.head ?? []).map(anchorArg);
        if (!v.file && (pinned.length || anchors.length))
          throw new UsageError('--trust and --head go with --file here; for the database, run audit verify --database with them first');
        const result = v.file
          ? await proveInFile(v.file, ...fileTrust(v.file, v.keys, v['heads-dir'], need), index, treeSize, { pinned, anchors })
          : await prove(store(), index, treeSize);
        io.out(JSON.stringify(result, null, 2));
        if (v.file && !pinned.length)
          io.err(
            'warning: the tree-head keys are not pinned: a log rewritten and signed again with another key proves as well; pass --trust FINGERPRINT (audit verify prints them)',
          );
        if (!v.file)
          io.err("warning: the database's heads are taken as stored, their signatures not checked: run audit verify --database … --trust FINGERPRINT for that");
        return result.verified ? 0 : 1;
      }
      case 'consistency': {
        const [h1, h2] = rest.map((f) => headFileArg(f));
        // As verify: pinned keys only, or the keys of --keys as they are, with a warning naming the ones that signed.
        const pinned = (v.trust ?? []).map(fingerprintArg);
        // The embedded mode's keys sit beside its audit file (audit/keys), as its head store does: used unless others are named.
        const keysPath = v.keys ?? (v.file && existsSync(embeddedKeysOf(v.file)) ? embeddedKeysOf(v.file) : need('keys'));
        checkReadable(keysPath, 'file or directory');
        const all = loadVerifyKeys(keysPath);
        const keys = pinned.length ? all.filter((k) => pinned.includes(keyFingerprint(k.publicKey))) : all;
        if (pinned.length && !keys.length) {
          io.out(`FAILED: no key in ${keysPath} has a pinned fingerprint (${pinned.join(', ')})`);
          return 1;
        }
        if (v.file && v.database) throw new UsageError('consistency takes one of --database and --file');
        const result = v.file
          ? await consistencyInFile(v.file, keys, fileTrust(v.file, keysPath, v['heads-dir'], need)[1], h1, h2)
          : await consistency(store(), h1, h2, keys);
        io.out(result.ok ? `consistent: the log of ${h1.treeSize} entries is a prefix of the log of ${h2.treeSize}` : `FAILED: ${result.problem}`);
        if (result.ok && !pinned.length) {
          const signers = [...new Set([h1.keyId, h2.keyId])].map((id) => all.find((k) => k.keyId === id));
          io.err(
            `warning: the tree-head keys were taken from ${keysPath} and are not pinned: anyone who can write there can sign heads of their own. ` +
              `Compare with a record kept elsewhere, then pin them: ${signers.map((k) => (k ? `--trust ${keyFingerprint(k.publicKey)}` : '')).join(' ')}`,
          );
        }
        return result.ok ? 0 : 1;
      }
      case 'completeness': {
        const audit = store();
        const since = need('since');
        if (Number.isNaN(Date.parse(since))) throw new UsageError('--since must be an ISO 8601 time');
        const result = await completeness(audit, since);
        for (const g of result.gaps) io.out(`gap: action ${g.actionId} has no ${g.missing} (reached: ${g.reached.join(' → ')})`);
        io.out(`${result.actions} actions since ${since}, ${result.gaps.length} incomplete`);
        return result.gaps.length ? 1 : 0;
      }
      case 'export': {
        const index = (k: 'from' | 'to') => (v[k] === undefined ? undefined : entryIndexArg(k, v[k]));
        // What the arguments alone say is answered before any connection.
        const [from, to] = [index('from'), index('to')];
        if (from !== undefined && to !== undefined && to <= from) throw new UsageError('--to must be greater than --from');
        const audit = store();
        let segment: string;
        const progress = createProgress('audit export: entries read');
        try {
          segment = await buildSegment(audit, from, to, (read, total) => progress.update(read, total));
        } catch (e) {
          if (e instanceof SegmentRangeError) throw new UsageError(e.message);
          throw e;
        } finally {
          progress.finish();
        }
        const entries = segment.split('\n').filter((l) => l.startsWith('{"kind":"entry"')).length;
        if (v.out) {
          writing(v.out, () => writeFileSync(v.out!, segment));
          io.err(`exported ${entries} entries to ${v.out}`);
        } else {
          io.out(segment.trimEnd());
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\n${USAGE}`);
      return 2;
    }
    // Bad usage too, but the usage would bury the one line that matters: which file, and why.
    if (e instanceof InaccessibleFile) {
      io.err(e.message);
      return 2;
    }
    io.err(`error: ${(e as Error).message}`);
    return 1;
  } finally {
    await log?.close();
  }
}

class UsageError extends Error {}

/**
 * The keys and trusted heads an embedded audit file is verified with: `--keys` and `--heads-dir` when given, else those
 * the embedded mode keeps beside it (audit/keys, its head store).
 */
function fileTrust(file: string, keysArg: string | undefined, headsArg: string | undefined, need: (k: 'keys') => string): [VerifyKey[], TreeHead[]] {
  const keysPath = keysArg ?? (existsSync(embeddedKeysOf(file)) ? embeddedKeysOf(file) : need('keys'));
  checkReadable(keysPath, 'file or directory');
  const headsDir = headsArg ?? (existsSync(embeddedHeadStoreOf(file)) ? embeddedHeadStoreOf(file) : undefined);
  return [loadVerifyKeys(keysPath), loadHeadDir(headsDir)];
}

const OPTIONS = {
  database: { type: 'string' },
  segment: { type: 'string' },
  file: { type: 'string' },
  keys: { type: 'string' },
  'heads-dir': { type: 'string' },
  trust: { type: 'string', multiple: true },
  head: { type: 'string', multiple: true },
  index: { type: 'string' },
  'tree-size': { type: 'string' },
  since: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  out: { type: 'string' },
  strict: { type: 'boolean' },
} as const;
type Option = keyof typeof OPTIONS;

/** What each command takes: its options, and its arguments besides them (`consistency`'s two head files). */
const COMMANDS: Record<string, { options: readonly Option[]; files?: string }> = {
  verify: { options: ['database', 'segment', 'file', 'keys', 'heads-dir', 'trust', 'head', 'strict'] },
  prove: { options: ['database', 'file', 'keys', 'heads-dir', 'trust', 'head', 'index', 'tree-size'] },
  consistency: { options: ['database', 'file', 'keys', 'heads-dir', 'trust'], files: 'two head files' },
  completeness: { options: ['database', 'since'] },
  export: { options: ['database', 'from', 'to', 'out'] },
};

/**
 * The command line as a whole, before anything is read or connected to: a known command, only the options it takes and
 * as many arguments as it takes. Ignored, an option meant for another command (`verify --from 5`) or a stray argument
 * would look like a check that was made.
 */
function checkCommandLine(command: string | undefined, values: Partial<Record<Option, unknown>>, args: string[]): void {
  if (!command) throw new UsageError('a command is required');
  if (!Object.hasOwn(COMMANDS, command)) throw new UsageError(`unknown command ${command}`);
  const takes = COMMANDS[command];
  for (const option of Object.keys(values) as Option[]) {
    if (values[option] === undefined || takes.options.includes(option)) continue;
    const commands = Object.keys(COMMANDS).filter((c) => COMMANDS[c].options.includes(option));
    throw new UsageError(`--${option} is an option of ${commands.join(' and ')}, not of ${command}`);
  }
  const wanted = takes.files ? 2 : 0;
  if (args.length !== wanted)
    throw new UsageError(
      takes.files ? `${command} takes ${takes.files} (got ${args.length})` : `${command} takes no arguments besides its options (got ${args.join(' ')})`,
    );
  if (typeof values.database === 'string') databaseArg(values.database);
}

/** A `--database` value: a PostgreSQL URL, checked before a connection is tried (a typo would be looked up as a host name). */
function databaseArg(arg: string): string {
  let url: URL | undefined;
  try {
    url = new URL(arg);
  } catch {
    url = undefined;
  }
  // Not echoed: the URL may carry a password.
  if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') || (!url.hostname && !url.searchParams.get('host')))
    throw new UsageError('--database must be a PostgreSQL URL, such as postgres://user:password@host:5432/countersign');
  return arg;
}

/** An entry index or tree size (`--index`, `--tree-size`, `--from`, `--to`): an integer ≥ 0, in decimal digits. */
function entryIndexArg(name: string, arg: string): number {
  const n = Number(arg);
  if (!/^\d{1,16}$/.test(arg) || !Number.isSafeInteger(n))
    throw new UsageError(`--${name} must be ${name === 'tree-size' ? 'a tree size' : 'an entry index'} (an integer ≥ 0)`);
  return n;
}

/** A tree head file of `consistency`, as JSON; one that cannot be read is an `InaccessibleFile`, one that is not JSON says so. */
function headFileArg(file: string): TreeHead {
  const text = readInput(file, 64 * 1024).toString('utf8');
  try {
    return JSON.parse(text) as TreeHead;
  } catch {
    // Not the parser's message: it quotes the file, and a file given in place of a head may hold a secret.
    throw new Error(`${file}: not a tree head (not JSON)`);
  }
}

/** A `--trust` value: 64 hex digits (`keyFingerprint`), compared in lower case. */
function fingerprintArg(arg: string): string {
  if (!/^[0-9a-f]{64}$/i.test(arg)) throw new UsageError(`--trust ${arg}: a key fingerprint is 64 hex digits, the SHA-256 of the key's SPKI DER`);
  return arg.toLowerCase();
}

/** A `--head` value: SIZE:ROOT, as a verified log's last line of stderr gives it. */
function anchorArg(arg: string): TreeAnchor {
  const m = /^(\d{1,16}):([0-9a-f]{64})$/i.exec(arg);
  const treeSize = Number(m?.[1]);
  if (!m || !Number.isSafeInteger(treeSize)) throw new UsageError(`--head ${arg}: expected SIZE:ROOT, a tree size and its 64-hex-digit root`);
  return { treeSize, rootHash: m[2].toLowerCase() };
}

/**
 * Which entries were verified. A segment from index N carries only the compact range of the entries before N: those are
 * not checked one by one, and the verdict must not count them as if they were.
 */
function verdict(result: VerifyResult & { ok: true }): string {
  if (result.checkedFrom === 0) return `${result.treeSize} entries`;
  const present = result.treeSize - result.checkedFrom;
  return (
    `entries ${result.checkedFrom}–${result.treeSize - 1} (${present}) checked one by one; ` +
    `the ${result.checkedFrom} before them are vouched for only by the signed root (compact range)`
  );
}

/**
 * Who signed the heads, for a person to compare with a record kept elsewhere: without pinned keys a warning that the keys
 * were taken from `keysPath` as they are; a note when more than one key signed; and the values to record.
 */
function signersReport(result: VerifyResult & { ok: true }, keysPath: string, pinned: boolean): string[] {
  const lines = pinned
    ? ['the heads are signed by pinned keys:']
    : [
        `warning: the tree-head keys were taken from ${keysPath} and are not pinned: anyone who can write there can rewrite the log and sign it again with a key of their own.`,
        'Compare these fingerprints with a record kept elsewhere, then pin them with --trust FINGERPRINT:',
      ];
  for (const s of result.signers)
    lines.push(`  key ${s.keyId}, fingerprint ${s.fingerprint}: ${s.heads} signed head${s.heads === 1 ? '' : 's'}, ${s.first} to ${s.last}`);
  if (result.signers.length > 1)
    lines.push(
      `note: the heads are signed by ${result.signers.length} different keys. Expected across a key rotation, and in an embedded home started before ` +
        'its tree-head key was kept (a new key at each start); any other key is a sign that the log was signed again.',
    );
  const trust = result.signers.map((s) => `--trust ${s.fingerprint}`).join(' ');
  lines.push(`record these outside this machine, and pass them to the next audit verify: ${trust} --head ${result.treeSize}:${result.root}`);
  return lines;
}

if (require.main === module) {
  void runAuditCli(process.argv.slice(2)).then((code) => process.exit(code));
}
