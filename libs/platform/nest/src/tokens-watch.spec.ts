import { chmodSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@countersign/logging';
import { loadTokenRegistry, readTokensFile, TokenEntry } from './auth';
import { DEFAULT_PRINCIPALS, writeTokens } from './tokens-file';
import { TOPIC_SCHEMAS, TOPICS } from '@countersign/contracts';
import { auditTokensReloads, watchTokensFile } from './tokens-watch';

// real: a tokens file on disk as writeTokens makes it, its reader, the registry and its watch (looked at by `check`,
// as its timer does every second); fake: nothing.
describe('the tokens file, followed while the process runs (revocation probe, 2026-12-05: read once at start)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokens-watch-'));
  const { tokens, tokensFile } = writeTokens(dir, DEFAULT_PRINCIPALS);
  const lines: Array<{ level: number; msg: string; removed?: string[]; added?: string[]; changed?: string[] }> = [];
  const logger = createLogger('tokens-watch-spec', { level: 'info', destination: { write: (l: string) => void lines.push(JSON.parse(l)) } });
  const registry = loadTokenRegistry(tokensFile);
  const watch = watchTokensFile(registry, { file: tokensFile, read: () => readTokensFile(tokensFile), logger, everyMs: 3_600_000 });
  afterAll(() => watch.stop());
  const entries = () => JSON.parse(readFileSync(tokensFile, 'utf8')) as TokenEntry[];
  /** Saves the file as an editor does (a new file renamed over it). */
  const save = (text: string) => {
    writeFileSync(`${tokensFile}.new`, text);
    renameSync(`${tokensFile}.new`, tokensFile);
  };

  it('stops a removed or rotated token at the next look, names who was removed, added or given other roles, and takes the new token', () => {
    expect(registry.resolve(tokens.reviewer)?.id).toBe('alice');
    const original = readFileSync(tokensFile, 'utf8');
    const rotated = 'b'.repeat(64);
    save(
      JSON.stringify(
        entries()
          .filter((e) => e.principal !== 'alice')
          .map((e) => (e.principal === 'bob' ? { ...e, tokenSha256: require('node:crypto').createHash('sha256').update(rotated).digest('hex') } : e))
          .map((e) => (e.principal === 'ada' ? { ...e, roles: ['admin', 'lead'] } : e)),
      ),
    );
    // Not before it is looked at (every second), then at once.
    expect(registry.resolve(tokens.reviewer)?.id).toBe('alice');
    watch.check();
    expect(registry.resolve(tokens.reviewer)).toBeUndefined();
    expect(registry.resolve(tokens.reviewer2)).toBeUndefined();
    expect(registry.resolve(rotated)?.id).toBe('bob');
    expect(registry.wasRemoved('alice')).toBe(true);
    expect(registry.holds('ada', 'lead')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ level: 40, removed: ['alice'], added: [], changed: ['ada'], rotated: ['bob'] });
    expect(lines.at(-1)!.msg).toMatch(/^tokens file reloaded: removed alice; added none; access changed ada; tokens rotated bob/);
    // Put back: alice's token works again, and she is no longer "removed".
    save(original);
    watch.check();
    expect(registry.resolve(tokens.reviewer)?.id).toBe('alice');
    expect(registry.wasRemoved('alice')).toBe(false);
  });

  it.each([
    ['not JSON', (good: string) => save(good.slice(0, 40))],
    ['invalid (a field it does not know)', (good: string) => save(JSON.stringify([{ ...JSON.parse(good)[0], tenant: ['acme'] }]))],
    ['gone', () => renameSync(tokensFile, `${tokensFile}.aside`)],
  ])(
    'takes no token while the file is %s (fail closed: the last good list would keep the removed in), says why, and takes them again once it is good',
    (_, spoil) => {
      const good = readFileSync(tokensFile, 'utf8');
      spoil(good);
      watch.check();
      expect(registry.resolve(tokens.reviewer)).toBeUndefined();
      expect(registry.resolve(tokens.admin)).toBeUndefined();
      expect(registry.refusal()).toMatch(
        new RegExp(`^the tokens file ${tokensFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} cannot be used \\(.+\\): no token is taken until it can$`),
      );
      expect(lines.at(-1)).toMatchObject({ level: 50, msg: registry.refusal() });
      save(good);
      watch.check();
      expect(registry.refusal()).toBeUndefined();
      expect(registry.resolve(tokens.reviewer)?.id).toBe('alice');
    },
  );

  it('audits every reload, those before the bus was up included: who was removed, added, changed or rotated, the roles granted, a refusal (auditor probe, 2026-12-06)', () => {
    const d = mkdtempSync(join(tmpdir(), 'tokens-audit-'));
    const { tokensFile: file } = writeTokens(d, DEFAULT_PRINCIPALS);
    const reg = loadTokenRegistry(file);
    const w = watchTokensFile(reg, { file, read: () => readTokensFile(file), logger, everyMs: 3_600_000 });
    const put = (es: TokenEntry[] | string) => {
      writeFileSync(`${file}.new`, typeof es === 'string' ? es : JSON.stringify(es));
      renameSync(`${file}.new`, file);
    };
    const start = JSON.parse(readFileSync(file, 'utf8')) as TokenEntry[];
    // Before anything listens (the bus not up yet): alice is given pii:view, carol is bound to a tenant.
    put(start.map((e) => (e.principal === 'alice' ? { ...e, roles: [...e.roles, 'pii:view'] } : e.principal === 'carol' ? { ...e, tenants: ['acme'] } : e)));
    w.check();
    const emitted: Array<{ topic: string; data: unknown; subject: string }> = [];
    auditTokensReloads(w, { service: 'review-queue', logger, emit: async (topic, data, o) => void emitted.push({ topic, data, subject: o.subject }) });
    put('[');
    w.check();
    w.stop();
    expect(emitted.map((e) => [e.topic, e.subject])).toEqual([
      [TOPICS.principalsChanged, 'principals:review-queue'],
      [TOPICS.principalsChanged, 'principals:review-queue'],
    ]);
    const [granted, refused] = emitted.map((e) => TOPIC_SCHEMAS[TOPICS.principalsChanged].shape.data.parse(e.data));
    expect(granted).toMatchObject({ service: 'review-queue', file: 'tokens.json', removed: [], added: [], changed: ['alice', 'carol'], rotated: [] });
    expect(granted.grants).toEqual([
      { principal: 'alice', roles: expect.arrayContaining(['pii:view', 'reviewer']) },
      { principal: 'carol', roles: expect.any(Array), tenants: ['acme'] },
    ]);
    expect(refused.refused).toMatch(/cannot be used/);
    // No token, no digest of one, in what is audited.
    const text = JSON.stringify(emitted);
    for (const e of start) expect(text).not.toContain(e.tokenSha256);
  });

  it('reads a file whose bytes did not change once, whatever its times (a touch is no reload)', () => {
    const before = lines.length;
    chmodSync(tokensFile, 0o600);
    watch.check();
    expect(lines.length).toBe(before);
  });
});
