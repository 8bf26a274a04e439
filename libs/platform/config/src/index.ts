import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { closestName } from '@countersign/contracts';

/** A bad setting, named precisely: `config: PORT: expected a number between 1 and 65535`. */
export class ConfigError extends Error {}

/**
 * Validates settings once at boot and returns them typed. The error names every bad setting on one line,
 * so a service stops with that line instead of a stack trace later.
 */
export function parseConfig<S extends z.ZodObject<z.ZodRawShape>>(schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (i) =>
      `${i.path.join('.') || '(env)'}: ${(i.code === 'invalid_type' || i.code === 'invalid_value') && env[String(i.path[0])] === undefined ? 'required' : i.message}`,
  );
  throw new ConfigError(`config: ${problems.join('; ')}`);
}

/**
 * Settings in `env` that are no setting of `schemas` but within two edits of one: a typo, refused rather than ignored.
 * Ignored, `TRUST_KEY_FILE` for `TRUST_KEY_FILES` left the trust monitor watching no other service's keys, with no word
 * (config probe, 2026-12-05). Names shorter than 8 characters are left alone: the environment holds many others
 * (`HOME` is two edits from `HOST`); among the project's own settings none is within two edits of another.
 */
export function misspelledSettings(schemas: Array<z.ZodObject<z.ZodRawShape>>, env: Record<string, string | undefined> = process.env): string[] {
  const known = new Set(schemas.flatMap((s) => Object.keys(s.shape)));
  const problems: string[] = [];
  for (const name of Object.keys(env)) {
    if (known.has(name) || name.length < 8 || env[name] === undefined) continue;
    // Compared in capitals too: `Countersign_Home` or `trust_key_files` was no near miss of anything (red team, 2026-12-05).
    const upper = name.toUpperCase();
    const meant = known.has(upper) ? upper : closestName(upper, known);
    if (meant && meant.length >= 8) problems.push(`${name} is no setting here: did you mean ${meant}? (rename it; a misspelled setting would be ignored)`);
  }
  return problems;
}

/** In a main, after its settings are loaded: refuses a misspelled setting (`misspelledSettings`) in one line, exit 1. */
export function refuseMisspelledSettingsOrExit(schemas: Array<z.ZodObject<z.ZodRawShape>>, env = process.env): void {
  const problems = misspelledSettings(schemas, env);
  if (!problems.length) return;
  process.stderr.write(`config: ${problems.join('; ')}\n`);
  process.exit(1);
}

/** In a service's main: parse, or print the one line and exit 1. */
export function loadConfigOrExit<S extends z.ZodObject<z.ZodRawShape>>(schema: S, env = process.env): z.infer<S> {
  try {
    return parseConfig(schema, env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}

/**
 * Reusable setting shapes. A setting that is set but blank (`PORT=`) is refused, not read as its default: whoever set it
 * meant something (a template that lost its value, a typo), and `Number('')` is 0, a random port.
 */
export const settings = {
  /** A TCP port: decimal digits only, 0 (any free port) to 65535; `0x1F90`, `1e3`, ` 80` and `` are refused. */
  port: (fallback: number) => portText(String(fallback)).default(fallback),
  /** A TCP port as `port`, with no default (the caller picks one). */
  optionalPort: () => portText(undefined).optional(),
  /** A host name or an IP address to listen on (default 127.0.0.1, loopback only). */
  host: () =>
    z
      .string()
      .transform((s, ctx) => {
        if (!s.trim()) return refuse(ctx, blank('127.0.0.1'));
        if (isIP(s) || (HOST_NAME.test(s) && !/(^|\.)\d+$/.test(s))) return s;
        return refuse(ctx, `expected a host name or an IP address to listen on (got ${JSON.stringify(s)})`);
      })
      .default('127.0.0.1'),
  /** Free text (a path, a name) that is not blank when set. */
  text: (fallback: string) =>
    z
      .string()
      .refine((s) => s.trim() !== '', blank(fallback))
      .default(fallback),
  url: () => z.url(),
  csv: () =>
    z
      .string()
      .min(1)
      .transform((s) =>
        s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      ),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
  /**
   * A yes or no with no default: one the operator must say because either default could be wrong for them (whether
   * the target applies an Idempotency-Key once: a default of yes sent an unknown outcome again to a target that does
   * not, so the action could run twice: config probe, 2026-12-05).
   */
  requiredBool: () => z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * A number in decimal digits (`12`, `0.5`; whole only with `integer`) from `min` to `max`: signs, hex, exponents and
   * surrounding blanks are refused, as for a port.
   */
  number: (fallback: number, o: { min: number; max: number; integer?: boolean }) =>
    z
      .string()
      .transform((s, ctx) => {
        if (!s.trim()) return refuse(ctx, blank(String(fallback)));
        const what = o.integer ? 'a whole number' : 'a number';
        if (!(o.integer ? /^\d{1,15}$/ : /^\d{1,15}(\.\d{1,15})?$/).test(s))
          return refuse(ctx, `expected ${what} in decimal digits (got ${JSON.stringify(s)})`);
        const n = Number(s);
        if (n < o.min || n > o.max) return refuse(ctx, `expected ${what} from ${o.min} to ${o.max} (got ${s})`);
        return n;
      })
      .default(fallback),
};

/**
 * The PEM text of the file a setting names (a certificate, a chain, a key, a root), read at boot: an error naming the
 * setting and the file when it cannot be read or holds no PEM, so a service stops with that line.
 */
export function readPemSetting(name: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${name}: cannot read ${file}: ${(e as Error).message}`);
  }
  if (!text.includes('-----BEGIN')) throw new ConfigError(`${name}: ${file} holds no PEM`);
  return text;
}

/**
 * Labels of letters, digits and inner hyphens, dot-separated (RFC 1123), 253 characters at most; a last label of digits
 * only is refused beside it (`256.1.1.1` is a mistyped address, not a name).
 */
const HOST_NAME = /^(?=.{1,253}$)[a-z\d]([a-z\d-]{0,61}[a-z\d])?(\.[a-z\d]([a-z\d-]{0,61}[a-z\d])?)*$/i;

const blank = (fallback: string | undefined) => `set but blank: unset it${fallback === undefined ? '' : ` for the default (${fallback})`}, or give a value`;

function refuse(ctx: z.RefinementCtx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

function portText(fallback: string | undefined) {
  return z.string().transform((s, ctx) => {
    if (!s.trim()) return refuse(ctx, blank(fallback));
    // Digits only: Number() also reads hex, exponents and surrounding blanks, so `0x1F90` served on 8080.
    if (!/^\d{1,5}$/.test(s) || Number(s) > 65535) return refuse(ctx, `expected a port, decimal digits from 0 to 65535 (got ${JSON.stringify(s)})`);
    return Number(s);
  });
}
export { InaccessibleFile, reading, readRegularFile, writing } from './files';
