import { readFileSync } from 'node:fs';
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

/** Reusable setting shapes. */
export const settings = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  host: () => z.string().default('127.0.0.1'),
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
