// Jest's order of test files, for a clean clone on two workers: the slowest files first, so that no long file starts
// last and leaves one worker alone with it (the suite's wall time is then close to half its summed time). Jest orders
// by the durations in its cache when it has them, and by file size otherwise, which is all a clean clone (CI) has:
// the fuzz suite, a small file, started last and ran alone for over a minute. The list comes from a measured run:
// `node tools/jest/slow-first.js > tools/jest/slowest.json` writes it again after `npm test` (both of its Jest runs).
const { dirname, relative, resolve } = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const ROOT = resolve(__dirname, '../..');

class SlowestFirst extends Sequencer {
  sort(tests) {
    const slowest = require('./slowest.json');
    const rank = new Map(slowest.map((file, i) => [file, i]));
    const rankOf = (test) => rank.get(relative(ROOT, test.path)) ?? slowest.length;
    // Stable: the files not listed keep the order Jest gives them (its cache, or their size), after the listed ones.
    return [...super.sort(tests)].sort((a, b) => rankOf(a) - rankOf(b));
  }
}

module.exports = SlowestFirst;

// Every file of Jest JSON reports (`npm test` writes .stack/jest-unit.json and .stack/jest-report.json, its two runs),
// slowest first: the longest-first order of the whole list keeps the two workers' ends close (a top-20 list left the
// rest in size order, and a 40 s file last).
if (require.main === module) {
  const reports =
    process.argv.length > 2 ? process.argv.slice(2) : ['.stack/jest-unit.json', '.stack/jest-report.json'].filter((f) => require('node:fs').existsSync(f));
  // A report names files by absolute path in the checkout that ran them (a clean clone elsewhere): each is taken
  // relative to that checkout, the folder above the report's `.stack/`, not to this one (paths like
  // `../../tmp/…/p/test/…` matched no file, and Jest fell back to file size for three stops).
  const files = reports
    .flatMap((file) => {
      const checkout = resolve(dirname(resolve(file)), '..');
      return require(resolve(file)).testResults.map((t) => ({ ...t, name: relative(checkout, t.name) }));
    })
    .map((t) => ({ file: t.name, seconds: (t.endTime - t.startTime) / 1000 }))
    .sort((a, b) => b.seconds - a.seconds);
  process.stdout.write(
    `${JSON.stringify(
      files.map((f) => f.file),
      null,
      2,
    )}\n`,
  );
}
