import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchTrusting } from '@countersign/client';

/** A fetch that trusts only the given root (the SDK's), for tests that talk to an HTTPS service of their own PKI. */
export { fetchTrusting };
import { stackEnv } from './env';

/** The stack's root certificate (`<PKI_DIR>/root.pem`, made by infra/stack.sh): what every test client trusts for HTTPS. */
export function stackRootCa(): string {
  const file = join(stackEnv().pkiDir, 'root.pem');
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the stack's root certificate ${file} (run 'npm run stack:up'): ${(e as Error).message}`);
  }
}

const byCa = new Map<string, typeof fetch>();

/**
 * The tests' `fetch`: `https:` URLs trusting the stack's root and nothing else (the services of a distributed run
 * serve certificates from it), `http:` URLs as the global fetch. No test turns certificate checks off.
 */
export const testFetch: typeof fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (!url.startsWith('https:')) return globalThis.fetch(input, init);
  const ca = stackRootCa();
  let f = byCa.get(ca);
  if (!f) byCa.set(ca, (f = fetchTrusting({ ca })));
  return f(input, init);
};
