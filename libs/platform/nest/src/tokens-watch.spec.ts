import { chmodSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@countersign/logging';
import { loadTokenRegistry, readTokensFile, rolesGrantingNothing, TokenEntry } from './auth';
import { DEFAULT_PRINCIPALS, writeTokens } from './tokens-file';
import { TOPIC_SCHEMAS, TOPICS } from '@countersign/contracts';
import { auditTokensReloads, warnRolesGrantingNothing, watchTokensFile } from './tokens-watch';

/** Polls `check` until it passes (every 10 ms, at most 10 s): this lib's specs cannot use @countersign/testing (a cycle). */
async function eventually(check: () => void, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

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

  it('audits every reload, those before the bus was up included: who was removed, added, changed or rotated, the roles granted, a refusal (auditor probe, 2026-12-06)', async () => {
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
    // Sent one after the other, each once the one before was taken.
    await eventually(() => expect(emitted).toHaveLength(2));
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

  it('tells every listener of every reload once, those before it was given first (the audit, and the roster of principals)', () => {
    const d = mkdtempSync(join(tmpdir(), 'tokens-listeners-'));
    const { tokensFile: file } = writeTokens(d, DEFAULT_PRINCIPALS);
    const w = watchTokensFile(loadTokenRegistry(file), { file, read: () => readTokensFile(file), logger, everyMs: 3_600_000 });
    const start = JSON.parse(readFileSync(file, 'utf8')) as TokenEntry[];
    const put = (es: TokenEntry[]) => {
      writeFileSync(`${file}.new`, JSON.stringify(es));
      renameSync(`${file}.new`, file);
    };
    const heard: Record<string, string[][]> = { early: [], late: [] };
    w.onReload((r) => heard.early.push(r.removed));
    put(start.filter((e) => e.principal !== 'alice'));
    w.check();
    w.onReload((r) => heard.late.push(r.removed));
    put(start.filter((e) => e.principal !== 'alice' && e.principal !== 'bob'));
    w.check();
    w.stop();
    expect(heard).toEqual({ early: [['alice'], ['bob']], late: [['alice'], ['bob']] });
  });

  it('sends a reload the bus did not take again, in order and under the same id, until it is taken (the reload stands meanwhile)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'tokens-retry-'));
    const { tokens: made, tokensFile: file } = writeTokens(d, DEFAULT_PRINCIPALS);
    const reg = loadTokenRegistry(file);
    const w = watchTokensFile(reg, { file, read: () => readTokensFile(file), logger, everyMs: 3_600_000 });
    const start = JSON.parse(readFileSync(file, 'utf8')) as TokenEntry[];
    const put = (es: TokenEntry[]) => {
      writeFileSync(`${file}.new`, JSON.stringify(es));
      renameSync(`${file}.new`, file);
    };
    let down = true;
    const tries: Array<{ id: string; removed: string[] }> = [];
    const taken: string[] = [];
    const audit = auditTokensReloads(w, {
      service: 'executor',
      logger,
      retryMs: 5,
      emit: async (_topic, data, o) => {
        tries.push({ id: o.id, removed: data.removed });
        if (down) throw new Error('Kafka did not take the event');
        taken.push(o.id);
      },
    });
    try {
      put(start.filter((e) => e.principal !== 'alice'));
      w.check();
      put(start.filter((e) => e.principal !== 'alice' && e.principal !== 'bob'));
      w.check();
      // In force at once, whatever the bus does.
      expect(reg.resolve(made.reviewer)).toBeUndefined();
      await eventually(() => expect(tries.length).toBeGreaterThanOrEqual(3));
      down = false;
      await eventually(() => expect(taken).toHaveLength(2));
      const first = tries[0].id;
      expect(tries.filter((t) => t.id === first).length).toBeGreaterThanOrEqual(3);
      // In order: the first reload (alice) before the second (bob), each under the id it was first sent with.
      expect(taken[0]).toBe(first);
      expect(tries.find((t) => t.id === taken[1])?.removed).toEqual(['bob']);
    } finally {
      audit.stop();
      w.stop();
    }
  });

  it('says a role that grants nothing (a typo) at start and when a reload gives one, with the role meant; the default principals hold none', () => {
    const d = mkdtempSync(join(tmpdir(), 'tokens-roles-'));
    const { tokensFile: file } = writeTokens(d, DEFAULT_PRINCIPALS);
    const said: string[] = [];
    const log = createLogger('tokens-roles-spec', { level: 'info', destination: { write: (l: string) => void said.push(JSON.parse(l).msg) } });
    const reg = loadTokenRegistry(file);
    const w = watchTokensFile(reg, { file, read: () => readTokensFile(file), logger: log, everyMs: 3_600_000 });
    const team = ['finance', 'security'];
    warnRolesGrantingNothing(reg, w, () => team, log);
    expect(said).toEqual([]);
    const start = JSON.parse(readFileSync(file, 'utf8')) as TokenEntry[];
    const put = (es: TokenEntry[]) => {
      writeFileSync(`${file}.new`, JSON.stringify(es));
      renameSync(`${file}.new`, file);
    };
    put(start.map((e) => (e.principal === 'bob' ? { ...e, roles: ['reveiwer', 'finance', 'counsel'] } : e)));
    w.check();
    w.stop();
    const warned = said.filter((m) => m.startsWith('tokens file:'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain('bob holds "counsel", "reveiwer" (did you mean "reviewer"?), which no route and no review of the contract reads');
    expect(warned[0]).not.toContain('"finance"');
    // Read again at each reload: a contract change that adds the team ends the warning.
    team.push('counsel');
    expect(rolesGrantingNothing(reg, team)).toEqual([expect.stringContaining('bob holds "reveiwer" (did you mean "reviewer"?), which')]);
  });

  it('takes a reload that adds a look-alike of a principal, without either of the pair, and says so at error; the others keep their tokens', () => {
    const d = mkdtempSync(join(tmpdir(), 'tokens-alike-'));
    const { tokens: made, tokensFile: file } = writeTokens(d, DEFAULT_PRINCIPALS);
    const said: Array<{ level: number; msg: string }> = [];
    const log = createLogger('tokens-alike-spec', { level: 'info', destination: { write: (l: string) => void said.push(JSON.parse(l)) } });
    const reg = loadTokenRegistry(file);
    const w = watchTokensFile(reg, { file, read: () => readTokensFile(file), logger: log, everyMs: 3_600_000 });
    const start = JSON.parse(readFileSync(file, 'utf8')) as TokenEntry[];
    const ada = start.find((e) => e.principal === 'ada')!;
    writeFileSync(`${file}.new`, JSON.stringify([...start, { ...ada, principal: '\u0430da', tokenSha256: 'c'.repeat(64) }]));
    renameSync(`${file}.new`, file);
    w.check();
    w.stop();
    expect(reg.refusal()).toBeUndefined();
    expect(reg.resolve(made.admin)).toBeUndefined();
    expect(reg.resolve(made.admin2)).toMatchObject({ id: 'grace' });
    expect(said.filter((l) => l.level === 50).map((l) => l.msg)).toEqual([expect.stringMatching(/tokens file .*: principals "ada" and "\u0430da" read alike/)]);
  });

  it('takes a token just added at its first use, not at the next look; an unknown token with the file unchanged reads nothing (first-user probe)', () => {
    const own = mkdtempSync(join(tmpdir(), 'tokens-miss-'));
    const file = writeTokens(own, DEFAULT_PRINCIPALS).tokensFile;
    const reg = loadTokenRegistry(file);
    let reads = 0;
    const w = watchTokensFile(reg, { file, read: () => (reads++, readTokensFile(file)), logger, everyMs: 3_600_000 });
    try {
      const token = 'c'.repeat(64);
      const sha = require('node:crypto').createHash('sha256').update(token).digest('hex');
      const alice = (JSON.parse(readFileSync(file, 'utf8')) as TokenEntry[]).find((e) => e.principal === 'alice')!;
      // Unknown, the file unchanged: a stat, nothing read.
      for (let i = 0; i < 50; i++) expect(reg.resolve(token)).toBeUndefined();
      expect(reads).toBe(0);
      writeFileSync(
        `${file}.new`,
        JSON.stringify([...(JSON.parse(readFileSync(file, 'utf8')) as TokenEntry[]), { ...alice, principal: 'nora', tokenSha256: sha }]),
      );
      renameSync(`${file}.new`, file);
      expect(reg.resolve(token)?.id).toBe('nora');
      expect(reads).toBe(1);
      expect(lines.at(-1)).toMatchObject({ level: 40, added: ['nora'] });
      // Stopped: no longer looked at on a miss.
      w.stop();
      writeFileSync(
        file,
        JSON.stringify(JSON.parse(readFileSync(file, 'utf8')).map((e: TokenEntry) => (e.principal === 'nora' ? { ...e, principal: 'nina' } : e))),
      );
      expect(reg.resolve('d'.repeat(64))).toBeUndefined();
      expect(reads).toBe(1);
    } finally {
      w.stop();
    }
  });

  it('reads a file whose bytes did not change once, whatever its times (a touch is no reload)', () => {
    const before = lines.length;
    chmodSync(tokensFile, 0o600);
    watch.check();
    expect(lines.length).toBe(before);
  });
});
