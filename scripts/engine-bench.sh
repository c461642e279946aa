#!/usr/bin/env bash
# Engine measurements (issue 16): proofs/s with one and two workers, one proof's latency,
# tick-to-all-proofs / tick-to-all-settled for 10,000 accounts with 1 % breaching, and
# the engine's per-tick store read + scan (10,000 and 100,000 accounts, none changed).
# Real `zkmargin` processes on a real NATS JetStream server: ZKMARGIN_NATS (default
# nats://127.0.0.1:4222; start one with `nats-server -js`). Takes several minutes.
#
#   scripts/engine-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_PROFILE_RELEASE_LTO="${CARGO_PROFILE_RELEASE_LTO:-false}"
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS="${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-16}"
url="${ZKMARGIN_NATS:-nats://127.0.0.1:4222}"
hostport="${url#nats://}"
if ! (exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}") 2>/dev/null; then
  echo "error: no NATS server at $url: start one with \`nats-server -js\` or set ZKMARGIN_NATS" >&2
  exit 1
fi
echo "# $(date -u +%FT%TZ) on $(uname -n): $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# command: scripts/engine-bench.sh (NATS $url)"
cargo test --release -p zkmargin --test engine_bench -- --ignored --nocapture --test-threads 1 2>&1 \
  | grep -E '^(machine|latency|throughput|tick|\(venue|\[engine\]|test result)'
