#!/usr/bin/env bash
# Live snarkjs cross-check for CI: installs the pinned snarkjs (package-lock.json), has
# it verify the committed fixture (its own contributions' proofs, which our reader does
# not re-check), and runs the test in which snarkjs prepares a .ptau our generator
# wrote and must produce exactly our prepared file.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
npm ci --no-audit --no-fund
node node_modules/snarkjs/build/cli.cjs powersoftau verify "$root/ceremony/tests/data/snarkjs-bn128-p8.ptau" | grep -q "Powers of Tau Ok"
echo "snarkjs: the committed fixture verifies"
cd "$root"
out="$(cargo test --release -p zkmargin-ceremony --test snarkjs snarkjs_prepares_our_generated_file_exactly_as_we_do -- --nocapture 2>&1)"
echo "$out"
if grep -q SKIPPED <<<"$out"; then
    echo "the snarkjs cross-check skipped although snarkjs is installed" >&2
    exit 1
fi
