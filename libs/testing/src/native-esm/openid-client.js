// Jest maps `openid-client` here (jest.config.js): it ships only ES modules, which Jest's CommonJS runtime cannot load
// untransformed; Node's own loader (require of an ES module, Node ≥ 20.19) loads it outside Jest's registry.
const Module = require('node:module');
module.exports = Module._load(require.resolve('openid-client'), null, false);
