import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The cookie a browser gets once a person signed in from it: its wrong passwords are counted apart (`DeviceCookies`). */
export const DEVICE_COOKIE = 'cs_idp_device';

/** How long a browser stays known after a sign-in from it (30 days). */
const DEVICE_MAX_AGE_MS = 30 * 86_400_000;

/**
 * Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser a person signed in from
 * before carries a cookie naming them, signed under a key of this process. Its wrong passwords are counted for that
 * browser alone, so guesses from anywhere else, which lock the user name, do not lock the person out of their own
 * browser (sessions probe, 2026-12-06: ten wrong passwords from anyone locked a reviewer out for 15 minutes, and locking
 * the two users with a second factor stopped every critical approval). A browser without one is counted as before, per
 * user name. The key is the process's: a restart makes every browser unknown again, which is the stricter side.
 */
export class DeviceCookies {
  private readonly key = randomBytes(32);

  constructor(private readonly now: () => number = Date.now) {}

  /** The id of the browser that sent `cookieHeader`, when it carries a valid device cookie for `user`; else undefined. */
  deviceOf(cookieHeader: string | undefined, user: string): string | undefined {
    const value = cookieValue(cookieHeader, DEVICE_COOKIE);
    const parts = value?.split('.');
    if (!parts || parts.length !== 4) return undefined;
    const [who, device, issued, mac] = parts;
    const expected = this.mac(`${who}.${device}.${issued}`);
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    if (Buffer.from(who, 'base64url').toString('utf8') !== user) return undefined;
    const at = Number(issued);
    return Number.isSafeInteger(at) && this.now() - at < DEVICE_MAX_AGE_MS ? device : undefined;
  }

  /**
   * The id of the browser that sent `cookieHeader`, when it carries a valid device cookie for anyone: a browser someone
   * signed in from. The counts over all addresses leave it out (it has counts of its own): a flood from many addresses
   * keeps new browsers out for a while, not the people who signed in here before (red team, 2026-12-08).
   */
  knownDevice(cookieHeader: string | undefined): string | undefined {
    const who = cookieValue(cookieHeader, DEVICE_COOKIE)?.split('.')[0];
    return who === undefined ? undefined : this.deviceOf(cookieHeader, Buffer.from(who, 'base64url').toString('utf8'));
  }

  /** The `Set-Cookie` value that makes this browser known for `user`. */
  issue(user: string): string {
    const body = `${Buffer.from(user, 'utf8').toString('base64url')}.${randomBytes(12).toString('base64url')}.${this.now()}`;
    const value = `${body}.${this.mac(body).toString('base64url')}`;
    // Path=/: sent with `/auth` and every request too, where the counts over all addresses leave a known browser out.
    return `${DEVICE_COOKIE}=${value}; Path=/; Max-Age=${DEVICE_MAX_AGE_MS / 1000}; HttpOnly; SameSite=Lax`;
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.key).update(body).digest();
  }
}

/** The value of cookie `name` in a `Cookie` header (the first), or undefined. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}
