#!/usr/bin/env bash
# Makes ceremony/tests/data/snarkjs-bn128-p8.ptau with the snarkjs CLI pinned in
# package.json (package-lock.json): a new BN254 ("bn128") powers of tau of power 8, one
# named contribution, a beacon, and `prepare phase2`, the same steps as the public
# ceremonies. The test ceremony/tests/snarkjs.rs imports the file, so the .ptau reader
# is checked against the real tool's output. Only the data file is committed.
#
# Usage: scripts/ceremony/make-ptau-fixture.sh            (writes the fixture)
#        scripts/ceremony/make-ptau-fixture.sh OUT.ptau   (writes elsewhere)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/ceremony/tests/data/snarkjs-bn128-p8.ptau}"
power=8

cd "$here"
if [ ! -x node_modules/.bin/snarkjs ]; then
    npm ci --no-audit --no-fund
fi
snarkjs() { node node_modules/.bin/snarkjs "$@"; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

snarkjs powersoftau new bn128 "$power" "$work/p0.ptau"
# Fixed entropy: the fixture is a format check, not a secure setup.
snarkjs powersoftau contribute "$work/p0.ptau" "$work/p1.ptau" \
    --name="zkmargin fixture contribution" -e="zkmargin ceremony fixture entropy"
snarkjs powersoftau beacon "$work/p1.ptau" "$work/p2.ptau" \
    0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 10 -n="zkmargin fixture beacon"
snarkjs powersoftau prepare phase2 "$work/p2.ptau" "$work/final.ptau"
snarkjs powersoftau verify "$work/final.ptau"

mkdir -p "$(dirname "$out")"
cp "$work/final.ptau" "$out"
echo "wrote $out"
b2sum "$out"
sha256sum "$out"
