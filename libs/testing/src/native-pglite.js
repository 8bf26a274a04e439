// Jest maps `@electric-sql/pglite` and `@electric-sql/pglite/node-postgres` here (jest.config.js). PGlite's
// CommonJS build loads Node's own modules with import(), which Jest's module runtime refuses without
// --experimental-vm-modules; Node's loader (outside Jest's registry) loads both, and this exports them together.
const Module = require('node:module');
const load = (id) => Module._load(require.resolve(id), null, false);
module.exports = { ...load('@electric-sql/pglite'), ...load('@electric-sql/pglite/node-postgres') };
