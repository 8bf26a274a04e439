import { z } from 'zod';
import { ConfigError, parseConfig, settings } from './index';

const schema = z.object({ PORT: settings.port(8080), KAFKA_BROKERS: settings.csv(), DEBUG: settings.bool(false) });

describe('parseConfig', () => {
  it('returns typed settings with defaults', () => {
    const c = parseConfig(schema, { KAFKA_BROKERS: 'a:1, b:2' });
    expect(c).toEqual({ PORT: 8080, KAFKA_BROKERS: ['a:1', 'b:2'], DEBUG: false });
  });

  it('names every bad setting on one line', () => {
    expect(() => parseConfig(schema, { PORT: '99999' })).toThrow(ConfigError);
    try {
      parseConfig(schema, { PORT: 'x', DEBUG: 'maybe' });
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).not.toContain('\n');
      expect(msg).toMatch(/^config: /);
      expect(msg).toContain('PORT');
      expect(msg).toContain('KAFKA_BROKERS: required');
      expect(msg).toContain('DEBUG');
    }
    expect.assertions(6);
  });
});
