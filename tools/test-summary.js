// Prints the suite's closing line in the plain form CI reads ("countersign: N passed, N failed, N skipped")
// from Jest's JSON report(s) and the other runners'
// `{passed, failed}` files, and exits non-zero when anything failed, a report is missing, or nothing ran.
const fs = require('node:fs');
let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  if (!fs.existsSync(file)) {
    console.error(`no report at ${file}: that part of the run did not finish`);
    failed++;
    continue;
  }
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (typeof r.numPassedTests === 'number') {
    // A Jest report: a suite that could not run (a syntax error, a failing hook) counts as a failure too.
    passed += r.numPassedTests;
    failed += r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
    skipped += r.numPendingTests + r.numTodoTests;
  } else {
    passed += r.passed;
    failed += r.failed;
  }
}
console.log(`countersign: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
