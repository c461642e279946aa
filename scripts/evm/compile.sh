#!/usr/bin/env bash
# Compiles evm/contracts into evm/artifacts with the solc-js version pinned in
# package.json (installed from package-lock.json into scripts/evm/node_modules).
# Commit the artifacts: `cargo test` reads them and needs no Node.
set -euo pipefail
cd "$(dirname "$0")"
if ! node -e 'process.exit(require("./package.json").dependencies.solc === require("solc/package.json").version ? 0 : 1)' 2>/dev/null; then
    npm ci --no-audit --no-fund
fi
node compile.js "$@"
