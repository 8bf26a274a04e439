import { Writable } from 'node:stream';
import { createLogger, withLogContext } from './index';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()));
      cb();
    },
  });
  return { lines, logger: createLogger('test-service', { destination }) };
}

describe('logging', () => {
  it('puts the correlation id of the current unit of work on every line, also across awaits', async () => {
    const { lines, logger } = capture();
    await withLogContext({ correlationId: 'corr-1', actionId: 'a-1' }, async () => {
      logger.info('first');
      await new Promise((r) => setTimeout(r, 5));
      logger.info({ extra: 1 }, 'second');
    });
    logger.info('outside');
    expect(lines[0]).toMatchObject({ service: 'test-service', correlationId: 'corr-1', actionId: 'a-1', msg: 'first' });
    expect(lines[1]).toMatchObject({ correlationId: 'corr-1', extra: 1 });
    expect(lines[2].correlationId).toBeUndefined();
  });

  it('never writes a bearer token, approval or scoped token', () => {
    const { lines, logger } = capture();
    logger.info({ headers: { authorization: 'Bearer s3cret-token' }, data: { approval: 'eyJ.signed', proposal: { scopedToken: 'scope-s3cret' } } }, 'request');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('eyJ.signed');
    expect(text).toContain('[redacted]');
  });
});
