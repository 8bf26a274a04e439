import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { TreeHead } from '@countersign/audit-chain';
import { loadVerifyKeys } from '@countersign/keys';
import { createProgress } from '@countersign/logging';
import { createPgAuditLog } from '../log-store/pg-audit-log.repository';
import { buildSegment, SegmentRangeError } from '../query/segment';
import { completeness, consistency, embeddedHeadStoreOf, Io, loadHeadDir, prove, verifyAuditFile, verifyDatabase, verifySegmentFile } from './audit-commands';

const USAGE = `countersign audit <command>
  verify --database URL --keys FILE|DIR [--heads-dir DIR]     the log in PostgreSQL against the signed heads
  verify --segment FILE --keys FILE|DIR [--heads-dir DIR]     an exported segment file, offline
  verify --file AUDIT.jsonl --keys FILE|DIR [--heads-dir DIR]  the embedded mode's audit file (audit/audit.jsonl),
                                                              with the heads beside it (tree-heads.jsonl, heads/)
  prove --database URL --index N [--tree-size S]              an inclusion proof of one entry
  consistency HEAD1.json HEAD2.json --database URL --keys F   that the log only grew between two heads
  completeness --database URL --since ISO-TIME                actions without a complete chain
  export --database URL [--from N] [--to M] [--out FILE]      a signed segment file (stdout by default), for
                                                              offline verification or \`countersign policy replay\`
Exit code: 0 verified (or exported), 1 a problem was found, 2 bad usage.`;

/** `countersign audit …`; returns the exit code. */
export async function runAuditCli(
  argv: string[],
  io: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) },
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        database: { type: 'string' },
        segment: { type: 'string' },
        file: { type: 'string' },
        keys: { type: 'string' },
        'heads-dir': { type: 'string' },
        index: { type: 'string' },
        'tree-size': { type: 'string' },
        since: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        out: { type: 'string' },
      },
    });
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
  const log = v.database ? createPgAuditLog(v.database, 2) : undefined;
  /** The audit store of `--database`, which the command asking requires. */
  const store = () => {
    need('database');
    return log!;
  };
  try {
    switch (command) {
      case 'verify': {
        if ([v.segment, v.file, v.database].filter(Boolean).length > 1) throw new UsageError('verify takes one of --database, --segment and --file');
        const keys = loadVerifyKeys(need('keys'));
        // The embedded mode's head store sits beside its audit file: used unless another one is named.
        const headsDir = v['heads-dir'] ?? (v.file && existsSync(embeddedHeadStoreOf(v.file)) ? embeddedHeadStoreOf(v.file) : undefined);
        const trusted = loadHeadDir(headsDir);
        // On a terminal, the entries verified so far (stderr; nothing when piped).
        const progress = createProgress('audit verify: entries verified');
        const result = await Promise.resolve(
          v.file
            ? verifyAuditFile(v.file, keys, trusted, progress)
            : v.segment
              ? verifySegmentFile(v.segment, keys, trusted)
              : verifyDatabase(store(), keys, trusted, progress),
        ).finally(() => progress.finish());
        if (result.ok) io.out(`verified: ${result.treeSize} entries, ${result.headsChecked} signed heads, root ${result.root}`);
        else io.out(`FAILED at index ${result.firstBadIndex}: ${result.problem}`);
        return result.ok ? 0 : 1;
      }
      case 'prove': {
        const result = await prove(store(), Number(need('index')), v['tree-size'] ? Number(v['tree-size']) : undefined);
        io.out(JSON.stringify(result, null, 2));
        return result.verified ? 0 : 1;
      }
      case 'consistency': {
        if (rest.length !== 2) throw new UsageError('consistency takes two head files');
        const [h1, h2] = rest.map((f) => JSON.parse(readFileSync(f, 'utf8')) as TreeHead);
        const result = await consistency(store(), h1, h2, loadVerifyKeys(need('keys')));
        io.out(result.ok ? `consistent: the log of ${h1.treeSize} entries is a prefix of the log of ${h2.treeSize}` : `FAILED: ${result.problem}`);
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
        const audit = store();
        const index = (k: 'from' | 'to') => {
          if (v[k] === undefined) return undefined;
          const n = Number(v[k]);
          if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${k} must be an entry index (an integer ≥ 0)`);
          return n;
        };
        let segment: string;
        const progress = createProgress('audit export: entries read');
        try {
          segment = await buildSegment(audit, index('from'), index('to'), (read, total) => progress.update(read, total));
        } catch (e) {
          if (e instanceof SegmentRangeError) throw new UsageError(e.message);
          throw e;
        } finally {
          progress.finish();
        }
        const entries = segment.split('\n').filter((l) => l.startsWith('{"kind":"entry"')).length;
        if (v.out) {
          writeFileSync(v.out, segment);
          io.err(`exported ${entries} entries to ${v.out}`);
        } else {
          io.out(segment.trimEnd());
        }
        return 0;
      }
      default:
        throw new UsageError(command ? `unknown command ${command}` : 'a command is required');
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\n${USAGE}`);
      return 2;
    }
    io.err(`error: ${(e as Error).message}`);
    return 1;
  } finally {
    await log?.close();
  }
}

class UsageError extends Error {}

if (require.main === module) {
  void runAuditCli(process.argv.slice(2)).then((code) => process.exit(code));
}
