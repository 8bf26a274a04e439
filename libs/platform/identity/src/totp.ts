import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// RFC 6238 one-time codes (HMAC-SHA1, 30 s steps, 6 digits): what an authenticator app shows. The local identity
// provider asks for one after the password of a user enrolled in MFA, and only then says `amr: ['pwd', 'otp', 'mfa']`.

const STEP_SECONDS = 30;

/** A new TOTP secret: 20 random bytes, base64url (kept in the users file, like a password hash never logged). */
export const newTotpSecret = () => randomBytes(20).toString('base64url');

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding: how authenticator apps and `oathtool -b` take a secret. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** The `otpauth://` link an authenticator app adds `secret` from (as a QR code, or pasted): account `user` at `issuer`. */
export const otpauthUri = (user: string, secret: string, issuer = 'Countersign') =>
  `otpauth://totp/${encodeURIComponent(issuer)}:${encodeURIComponent(user)}?secret=${base32(Buffer.from(secret, 'base64url'))}` +
  `&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=${STEP_SECONDS}`;

/** The code for `secret` at `at` (the current 30 s step, or `stepOffset` steps away). */
export function totpCode(secret: string, at = Date.now(), stepOffset = 0): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / STEP_SECONDS) + stepOffset));
  const mac = createHmac('sha1', Buffer.from(secret, 'base64url')).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

/** True when `code` is the current code or the one of the step before or after (clocks drift). */
export function verifyTotp(secret: string, code: string, at = Date.now()): boolean {
  return totpStep(secret, code, at) !== undefined;
}

/**
 * The time step whose code `code` is (the current one, or the one before or after: clocks drift), or undefined. A
 * verifier keeps the last step it accepted per user and accepts only later ones, so a code seen once (over a shoulder,
 * in a proxy's log) signs nobody in again (RFC 6238 §5.2).
 */
export function totpStep(secret: string, code: string, at = Date.now()): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const now = Math.floor(at / 1000 / STEP_SECONDS);
  // Every candidate compared (no early exit): the time taken does not tell which step matched.
  let matched: number | undefined;
  for (const d of [-1, 0, 1]) if (timingSafeEqual(Buffer.from(totpCode(secret, at, d)), Buffer.from(code))) matched ??= now + d;
  return matched;
}
