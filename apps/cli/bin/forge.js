#!/usr/bin/env node
// The `forge` command: runs the compiled CLI (built by `npm ci` / `npm run build`).
const path = require('path');
const fs = require('fs');
const entry = path.join(__dirname, '..', 'dist', 'main.js');
if (!fs.existsSync(entry)) {
  console.error('forge: the CLI is not built yet (run `npm run build` at the repository root)');
  process.exit(1);
}
require(entry)
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
