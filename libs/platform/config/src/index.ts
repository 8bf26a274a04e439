import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';

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
    (i) => `${i.path.join('.') || '(env)'}: ${i.code === 'invalid_type' && env[String(i.path[0])] === undefined ? 'required' : i.message}`,
  );
  throw new ConfigError(`config: ${problems.join('; ')}`);
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
    throw new Error(`${name}: cannot read ${file}: ${(e as Error).message}`);
  }
  if (!text.includes('-----BEGIN')) throw new Error(`${name}: ${file} holds no PEM`);
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
export { InaccessibleFile, reading, writing } from './files';
