import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { issueCertificate, loadIssuingCa } from '@countersign/pki';

/**
 * What a drill runs against: the running system's addresses, the tokens of its seeded principals, and how to take its
 * flag service away and bring it back. `npm start` writes one into its home (`<home>/target.json`) and
 * `npm run start:distributed` into `.stack/distributed/target.json`; a test builds one in memory.
 */
export interface DrillTarget {
  mode: 'embedded' | 'distributed';
  urls: { orchestrator: string; reviewQueue: string; policyEngine: string };
  /** Raw tokens by principal name (`agent`, `reviewer`, `reviewer2`, `admin`, …). */
  tokens: Record<string, string>;
  /** The root to trust (PEM) when the urls are `https:` with a private PKI (the distributed mode). */
  ca?: string;
  /** How the drill takes the flag service away and back; absent when this target cannot (the drill says so). */
  flagService?: { kind: 'unleash' | 'file'; down(): Promise<void>; up(): Promise<void> };
  /** `cert-failure`: how to expire one service's certificate and renew it, and how often the trust monitor checks. */
  certificate?: { owner: string; checkMs: number; expire(): Promise<void>; renew(): Promise<void> };
}

/** The file form of a target: commands instead of functions. */
export const TargetFileSchema = z.strictObject({
  mode: z.enum(['embedded', 'distributed']),
  urls: z.strictObject({ orchestrator: z.string().url(), reviewQueue: z.string().url(), policyEngine: z.string().url() }),
  /** A directory with one file per raw token, named for the principal. */
  tokensDir: z.string(),
  /** The root certificate file to trust for `https:` urls (the distributed mode's private PKI). */
  caFile: z.string().optional(),
  /** `cert-failure`: a certificate the trust monitor watches (its file), the PKI that issued it, the monitor's check interval. */
  certificate: z.strictObject({ owner: z.string(), file: z.string(), pkiDir: z.string(), checkMs: z.number().int().positive() }).optional(),
  flagService: z
    .discriminatedUnion('kind', [
      /** A flag file (the embedded mode): down moves it aside, up puts it back. */
      z.strictObject({ kind: z.literal('file'), path: z.string() }),
      /** Unleash: shell commands that stop it and start it again (e.g. `bash infra/stack.sh kill unleash`). */
      z.strictObject({ kind: z.literal('unleash'), down: z.array(z.string()).min(1), up: z.array(z.string()).min(1) }),
    ])
    .optional(),
});
export type TargetFile = z.infer<typeof TargetFileSchema>;

/** Writes a target file (mode 0600: it names where tokens are, not the tokens). */
export function writeTargetFile(path: string, target: TargetFile): void {
  writeFileSync(path, `${JSON.stringify(TargetFileSchema.parse(target), null, 2)}\n`, { mode: 0o600 });
}

/** Reads `<dir>/target.json`; throws a plain message when it is missing or malformed. */
export function loadTarget(dir: string): DrillTarget {
  const file = join(dir, 'target.json');
  if (!existsSync(file)) throw new Error(`no ${file}: start Countersign first (npm start, or npm run start:distributed), or name its directory with --target`);
  const parsed = TargetFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file} is not a drill target: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const t = parsed.data;
  const tokens = Object.fromEntries(
    readdirSync(t.tokensDir)
      .filter((f) => !f.includes('.'))
      .map((f) => [f, readFileSync(join(t.tokensDir, f), 'utf8').trim()]),
  );
  return {
    mode: t.mode,
    urls: t.urls,
    tokens,
    ...(t.caFile && { ca: readFileSync(t.caFile, 'utf8') }),
    ...(t.flagService && { flagService: flagServiceOf(t.flagService) }),
    ...(t.certificate && { certificate: certificateOf(t.certificate) }),
  };
}

/**
 * Expires and renews a certificate file the way a failed and a successful renewal would leave it: a certificate for the
 * same party from the same PKI, written beside the file and renamed over it.
 */
export function certificateOf(c: NonNullable<TargetFile['certificate']>): NonNullable<DrillTarget['certificate']> {
  const replace = async (lifetime: { notBefore?: Date; notAfter: Date }) => {
    const ca = await loadIssuingCa(c.pkiDir);
    const issued = await issueCertificate(ca, c.owner, 'client', lifetime);
    writeFileSync(`${c.file}.drill-next`, issued.chainPem);
    renameSync(`${c.file}.drill-next`, c.file);
  };
  return {
    owner: c.owner,
    checkMs: c.checkMs,
    expire: () => replace({ notBefore: new Date(Date.now() - 2 * 3600_000), notAfter: new Date(Date.now() - 60_000) }),
    renew: () => replace({ notAfter: new Date(Date.now() + 12 * 3600_000) }),
  };
}

function flagServiceOf(f: NonNullable<TargetFile['flagService']>): NonNullable<DrillTarget['flagService']> {
  if (f.kind === 'file') {
    const aside = `${f.path}.drill-aside`;
    return { kind: 'file', down: async () => renameSync(f.path, aside), up: async () => renameSync(aside, f.path) };
  }
  return { kind: 'unleash', down: () => run(f.down), up: () => run(f.up) };
}

function run([cmd, ...args]: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${[cmd, ...args].join(' ')} exited with ${code}: ${err.trim().slice(-300)}`))));
  });
}
