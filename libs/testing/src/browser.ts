/**
 * The browser the inbox's tests (and `bench:review`'s sign-in) drive with playwright-core: Debian's
 * `chromium-headless-shell`, Chromium's own headless build (the same source package and version as Debian's `chromium`,
 * and what Playwright itself runs for headless tests). `infra/stack.sh up` installs it. The full browser in headless mode
 * also starts the renderers of its window's own pages: the browser tests took 76 s of CPU with it, 46 s with this one
 * (two files, 2026-12-07; docs/adr/0016, addendum).
 */
export const CHROMIUM_EXECUTABLE = '/usr/bin/chromium-headless-shell';

/** playwright-core's launch options for it (Chromium refuses to run as root with its sandbox: CI runs as root). */
export const CHROMIUM_LAUNCH = { executablePath: CHROMIUM_EXECUTABLE, args: ['--no-sandbox'] };
