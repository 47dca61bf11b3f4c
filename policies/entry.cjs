/* eslint-disable @typescript-eslint/no-require-imports -- the Pulumi CLI require()s this file */
// Entry point for the Pulumi CLI's policy-pack runner, which require()s the
// pack's `main`: register tsx's require hook so the TypeScript pack loads.
require("tsx/cjs");
module.exports = require("./index.ts");
