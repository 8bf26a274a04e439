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

  it('masks regulated data in the message, fields, keys, errors, bindings, the path and the correlation id', async () => {
    const { lines, logger } = capture();
    const card = '4111-1111-1111-1111';
    await withLogContext({ correlationId: card, actionId: 'a-1' }, async () => {
      logger.warn({ status: 404, path: `/v1/actions/${card}`, reason: `no action ${card}` }, 'request rejected');
      logger.info(`refund to 4111.1111.1111.1111 for jane@example.org`);
      logger.info({ amount: 4111111111111111, contacts: { 'jane@example.org': 'vip' } }, 'card %s, iban %s', '4111 1111 1111 1111', 'de89370400440532013000');
      logger.error(new Error(`connector failed for card ${card}`));
      logger.error({ err: new Error(`declined: ${card}`) });
      logger.child({ customer: 'jane@example.org' }).info('child');
    });
    const text = lines.map((l) => JSON.stringify(l)).join('\n');
    for (const secret of ['4111', 'jane@example.org', 'de89370400440532013000', 'DE89370400440532013000']) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ correlationId: '[card …1111]', actionId: 'a-1', path: '/v1/actions/[card …1111]', msg: 'request rejected' });
    expect(lines[1].msg).toBe('refund to [card …1111] for j***@[email]');
    expect(lines[2]).toMatchObject({ amount: '[card …1111]', contacts: { 'j***@[email]': 'vip' }, msg: 'card [card …1111], iban DE** [iban …3000]' });
    expect(lines[3]).toMatchObject({ msg: 'connector failed for card [card …1111]', err: { message: 'connector failed for card [card …1111]' } });
    expect(lines[4]).toMatchObject({ msg: 'declined: [card …1111]', err: { type: 'Error' } });
    expect(lines[5]).toMatchObject({ customer: 'j***@[email]', msg: 'child' });
  });

  it('keeps ordinary lines as they are, and a self-referencing object does not hang', () => {
    const { lines, logger } = capture();
    const loop: Record<string, unknown> = { orderId: 'order-77', amount: 12.5, at: '2026-11-24T10:00:00.000Z' };
    loop.self = loop;
    withLogContext({ correlationId: '3f2a9c1b-1234-5678-9012-abcdef012345' }, () => logger.info(loop, 'refund %s of %d', 'order-77', 12.5));
    expect(lines[0]).toMatchObject({
      correlationId: '3f2a9c1b-1234-5678-9012-abcdef012345',
      orderId: 'order-77',
      amount: 12.5,
      at: '2026-11-24T10:00:00.000Z',
      self: { orderId: 'order-77', self: '[Circular]' },
      msg: 'refund order-77 of 12.5',
    });
  });
});
