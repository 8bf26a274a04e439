import { plainHttpNotice } from './plain-http-notice';

// real: everything (a pure function); fake: nothing. Tested apart from the main so that no test listens beyond
// 127.0.0.1 to see the warning (the main's banner test starts on loopback and checks that this line is in it).
describe('the embedded banner’s notice on plain HTTP', () => {
  it.each(['127.0.0.1', '127.0.0.2', 'localhost'])('calls %s loopback, a local development default', (host) => {
    expect(plainHttpNotice(host)).toMatch(/^Plain HTTP on loopback: a local development default \(set HTTP_TLS_CERT_FILE/);
  });

  it('says every interface of the machine may be reached when HOST is 0.0.0.0, not "on loopback"', () => {
    const notice = plainHttpNotice('0.0.0.0');
    expect(notice).toContain('Plain HTTP on every network interface of this machine (HOST=0.0.0.0): other machines may reach it');
    expect(notice).not.toContain('loopback');
  });

  it.each(['10.0.0.7', 'countersign.internal', '128.0.0.1'])('names %s as not loopback, reachable and unencrypted', (host) => {
    expect(plainHttpNotice(host)).toBe(
      `Plain HTTP on ${host}, not loopback: other machines may reach it, and its tokens and proposals cross the network unencrypted ` +
        '(set HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE for HTTPS; the distributed mode always serves HTTPS).',
    );
  });
});
