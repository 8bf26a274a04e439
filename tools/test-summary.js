// Prints the suite's closing line in the plain form CI reads ("countersign: N passed, N failed, N skipped")
// from Jest's JSON report, and exits non-zero when anything failed or nothing ran.
const fs = require('node:fs');
const file = process.argv[2];
if (!fs.existsSync(file)) {
  console.error(`no Jest report at ${file}: the test run did not finish`);
  process.exit(1);
}
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const extra = process.argv.slice(3).map((f) => (fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : { passed: 0, failed: 1 }));
const passed = r.numPassedTests + extra.reduce((n, e) => n + e.passed, 0);
const failed = r.numFailedTests + extra.reduce((n, e) => n + e.failed, 0) + (r.numRuntimeErrorTestSuites ?? 0);
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`countersign: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
