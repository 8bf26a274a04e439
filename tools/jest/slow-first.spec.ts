import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// real: the measured order Jest reads in every run, and the script that writes it from a Jest JSON report; fake: a report.
const root = join(__dirname, '../..');
const slowest: string[] = require('./slowest.json');

describe('tools/jest/slow-first', () => {
  it('lists test files of this checkout, by path from its root, each once', () => {
    // A list that names no file here orders nothing: Jest falls back to file size, and a short slow file runs last, alone.
    const missing = slowest.filter((file) => !existsSync(join(root, file)));
    expect(missing).toEqual([]);
    expect(slowest.every((file) => /\.(int-|e2e-)?spec\.ts$/.test(file))).toBe(true);
    expect(new Set(slowest).size).toBe(slowest.length);
  });

  it('writes the files of a report made in another checkout relative to that checkout, slowest first', () => {
    const checkout = mkdtempSync(join(tmpdir(), 'countersign-slow-first-'));
    mkdirSync(join(checkout, '.stack'));
    const report = join(checkout, '.stack', 'jest-report.json');
    const result = (file: string, seconds: number) => ({ name: join(checkout, file), startTime: 1_000, endTime: 1_000 + seconds * 1000 });
    writeFileSync(report, JSON.stringify({ testResults: [result('apps/a/a.spec.ts', 2), result('test/e2e/b.e2e-spec.ts', 30)] }));
    const r = spawnSync(process.execPath, [join(__dirname, 'slow-first.js'), report], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(['test/e2e/b.e2e-spec.ts', 'apps/a/a.spec.ts']);
  });
});
