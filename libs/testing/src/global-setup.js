// Integration and end-to-end tests run against the real stack that `infra/stack.sh up` starts.
// That script writes the addresses it started into .stack/stack.env; we load them here so each
// test file finds them in process.env, and fail with one clear line when the stack is not up.
const fs = require('node:fs');
const path = require('node:path');

module.exports = async function globalSetup() {
  const file = path.join(__dirname, '../../../.stack/stack.env');
  if (!fs.existsSync(file)) {
    throw new Error(`The real stack is not up (${file} is missing): run 'npm run stack:up' first.`);
  }
  // Node parses it (as loadStackEnvFile does for scripts outside Jest); a variable already set wins.
  process.loadEnvFile(file);
};
