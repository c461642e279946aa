#!/usr/bin/env bash
# CI: installs the pinned solc-js from package-lock.json, recompiles every contract
# under evm/contracts into a temporary directory, and fails if any byte differs from
# the committed evm/artifacts (stale artifacts, or a compiler that is not the pinned
# one). The generated sources themselves are checked against the keys by
# `cargo test -p zkmargin-evm --test generated`.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
node compile.js "$out" >/dev/null
if ! diff -r ../../evm/artifacts "$out"; then
    echo "evm/artifacts differ from a fresh compile with the pinned solc: run scripts/evm/compile.sh and commit the result" >&2
    exit 1
fi
echo "evm/artifacts match a fresh compile ($(node -e 'console.log(require("solc").version())'))"
