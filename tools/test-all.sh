#!/usr/bin/env bash
# The whole suite, as CI runs it (`npm test`): start the real stack (installing what is missing),
# type-check, lint, format check, then unit, integration and end-to-end tests and the contract's own test table.
set -euo pipefail
cd "$(dirname "$0")/.."
export KAFKAJS_NO_PARTITIONER_WARNING=1 NX_DAEMON=false
started=$(date +%s)
mkdir -p .stack
rm -f .stack/jest-unit.json .stack/jest-report.json
# Neither the static checks nor the unit tests need the stack: they run while it starts, which on a fresh machine is
# minutes of downloads, dpkg and JVM start-up (CI: the suite had reached its 20-minute budget with them one after the
# other). Their output is printed once each is done, so it does not interleave with the stack's.
# The suite is bound by CPU on two cores: the static checks (80 s of it) run at the lowest priority, on what the tests
# leave idle (a fifth of the integration phase, which waits on brokers, timers and the browser), and are waited for at
# the end. Prettier decides the layout (.prettierrc.json); `npm run format` fixes it.
(nice -n 19 bash -c 'npm run -s typecheck && npm run -s lint && npm run -s format:check') > .stack/static-checks.log 2>&1 &
checks=$!
# In a fresh clone tools/register.js has nothing cached (the compiled TypeScript, V8's code cache): one process fills it
# first (4 s), instead of the first unit files' processes each compiling the same files at once.
( node -r ./tools/register.js -e "require('./apps/embedded/src/embedded')"
  npx jest --ci --selectProjects unit --json --outputFile=.stack/jest-unit.json ) > .stack/jest-unit.log 2>&1 &
unit=$!
trap 'kill "$checks" "$unit" 2>/dev/null || true' EXIT
bash infra/stack.sh up
status=0
# The integration and end-to-end tests start once the unit tests are done: two Jest runs at once on two cores would
# put each other's bounded waits at risk.
wait "$unit" || status=$?
cat .stack/jest-unit.log
trap 'kill "$checks" 2>/dev/null || true' EXIT
npx jest --ci --selectProjects integration e2e --json --outputFile=.stack/jest-report.json || status=$?
# The project's operational contract against its own table, as a reviewer of a contract change would run it.
npm run -s countersign -- policy test apps/policy-engine/contract/countersign.contract.yaml apps/policy-engine/contract/countersign.contract.test.yaml --json .stack/policy-test.json || status=$?
# The fault harness, short: 300 proposals while it kills -9 each service, Kafka, Redis, PostgreSQL and Unleash once
# (last: nothing else may be using the shared stack). Each goal (0 lost, 0 duplicate, 0 stuck, audit complete and
# verified, …) counts as one test in the summary; `npm run chaos` is the full run (10,000 proposals, each fault twice).
rm -f .stack/chaos.json
npm run -s chaos -- --short --json .stack/chaos.json || status=$?
checks_status=0
wait "$checks" || checks_status=$?
trap - EXIT
cat .stack/static-checks.log
if [ "$checks_status" -ne 0 ]; then echo "static checks failed (type-check, lint or format)"; status=$checks_status; else echo "static checks passed (type-check, lint, format)"; fi
node tools/test-summary.js .stack/jest-unit.json .stack/jest-report.json .stack/policy-test.json .stack/chaos.json || status=$?
echo "suite time: $(( $(date +%s) - started ))s"
exit $status
