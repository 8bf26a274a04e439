import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTokens } from '@countersign/nest';
import { readHomeTokens } from './home-tokens';
import { checkPortFree, makeFolder, prepareHome, StartRefusedError } from './start-checks';

// real: the file system (temporary folders, /proc), TCP sockets on loopback; fake: nothing.
describe('the embedded mode’s start-up checks', () => {
  const scratch = () => mkdtempSync(join(tmpdir(), 'start-checks-'));

  describe('the home', () => {
    it('makes a home and its missing parents, its user’s alone', () => {
      const home = join(scratch(), 'a', 'b', 'home');
      prepareHome(home);
      expect(statSync(home).mode & 0o777).toBe(0o700);
      expect(statSync(join(home, '..')).mode & 0o777).toBe(0o700);
    });

    it('closes a home made by hand to its user', () => {
      const home = scratch();
      prepareHome(home);
      expect(statSync(home).mode & 0o777).toBe(0o700);
    });

    it('refuses a home that is a file, or under one, naming the path (red team: "EEXIST: file already exists, mkdir" with a stack)', () => {
      const file = join(scratch(), 'home');
      writeFileSync(file, 'x');
      expect(() => prepareHome(file)).toThrow(new StartRefusedError(`COUNTERSIGN_HOME ${file}: is a file, not a folder`));
      expect(() => prepareHome(join(file, 'sub'))).toThrow(new StartRefusedError(`COUNTERSIGN_HOME ${file}/sub: ${file} is a file, not a folder`));
    });

    it('refuses a home under /proc at once (red team: Node’s recursive mkdir never returned)', () => {
      const started = Date.now();
      expect(() => prepareHome('/proc/countersign-home')).toThrow(
        /^COUNTERSIGN_HOME \/proc\/countersign-home: cannot make \/proc\/countersign-home \(ENOENT\)/,
      );
      expect(Date.now() - started).toBeLessThan(4_000); // it never returned; a busy machine takes far less than this
    });
  });

  describe('the ports', () => {
    let taken: Server;
    let port: number;
    beforeAll(async () => {
      taken = createServer();
      await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
      port = (taken.address() as { port: number }).port;
    });
    afterAll(() => new Promise((r) => taken.close(r)));

    it('refuses a port another process listens on, naming the setting and the port', async () => {
      await expect(checkPortFree('PORT', '127.0.0.1', port)).rejects.toThrow(
        new StartRefusedError(`PORT=${port}: port ${port} on 127.0.0.1 is in use by another process: stop it, or choose another PORT`),
      );
    });

    it('takes a free port and leaves it free', async () => {
      taken.close();
      await checkPortFree('PORT', '127.0.0.1', port);
      await checkPortFree('PORT', '127.0.0.1', port);
      await new Promise<void>((r) => taken.listen(port, '127.0.0.1', r));
    });

    it('refuses a host this machine has no address for, or a name that does not resolve', async () => {
      await expect(checkPortFree('PORT', '192.0.2.1', 0)).rejects.toThrow(/^HOST=192\.0\.2\.1: not an address of this machine/);
      await expect(checkPortFree('PORT', 'nowhere.invalid', 0)).rejects.toThrow(/^HOST=nowhere\.invalid: the name does not resolve/);
    });
  });

  describe('the tokens file', () => {
    it('reads what writeTokens wrote', () => {
      const home = scratch();
      const { tokensFile } = writeTokens(home);
      expect(readHomeTokens(tokensFile).length).toBeGreaterThan(3);
    });

    it('refuses a malformed one, naming the file (red team: a bare "SyntaxError: Expected property name")', () => {
      const home = scratch();
      mkdirSync(home, { recursive: true });
      const file = join(home, 'tokens.json');
      writeFileSync(file, '{x');
      expect(() => readHomeTokens(file)).toThrow(StartRefusedError);
      expect(() => readHomeTokens(file)).toThrow(new RegExp(`^${file}: not valid JSON \\(.+\\): restore it, or move it aside to make new tokens$`));
      writeFileSync(file, '[{"principal": 1}]');
      expect(() => readHomeTokens(file)).toThrow(new RegExp(`^${file}: not a tokens file \\(at 0\\.principal: .+\\)`));
      expect(readdirSync(home)).toEqual(['tokens.json']);
    });
  });
});

describe('makeFolder', () => {
  it('makes a folder and its parents, and refuses one under /proc at once (red team, 2026-12-07: the witness folder hung the start)', () => {
    const base = mkdtempSync(join(tmpdir(), 'make-folder-'));
    makeFolder(join(base, 'a', 'b', 'c'));
    expect(statSync(join(base, 'a', 'b', 'c')).isDirectory()).toBe(true);
    makeFolder(join(base, 'a', 'b', 'c')); // there already: nothing to do
    const started = Date.now();
    expect(() => makeFolder('/proc/countersign-witness/x')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(Date.now() - started).toBeLessThan(4_000); // it never returned; a busy machine takes far less than this
    writeFileSync(join(base, 'file'), '');
    expect(() => makeFolder(join(base, 'file', 'sub'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });
});
