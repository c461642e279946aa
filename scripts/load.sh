#!/usr/bin/env bash
# Load test of the verification service on loopback, with wrk (Debian package `wrk`).
#
#   scripts/load.sh [DURATION_SECS] [CONNECTIONS]
#
# Builds the release binary, writes fresh keys and real proofs (a report observed
# now) with the test fixture, starts `zkmargin-verifier serve` on a free loopback
# port, and drives it with wrk: POST /v1/verify (one proof per request) and
# POST /v1/verify/batch (16 and 64 proofs per request). Prints throughput in verifications
# per second, latency percentiles and errors, then stops the server with SIGTERM.
# Exits non-zero if any request failed or a target was missed:
# >= 1,500 verifications/s with p99 <= 50 ms and no errors.
#
# Environment: WRK_THREADS (default 1), BATCH_CONNECTIONS (default 2), ZKMARGIN_WORKERS (server workers, default:
# cores), TARGET_RPS (1500), TARGET_P99_MS (50). Traffic goes to 127.0.0.1 only;
# each run is bounded by DURATION_SECS.
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${1:-20}"
connections="${2:-32}"
threads="${WRK_THREADS:-1}"
batch_connections="${BATCH_CONNECTIONS:-2}"
target_rps="${TARGET_RPS:-1500}"
target_p99="${TARGET_P99_MS:-50}"

if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)" >&2
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
    fi
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== build" >&2
cargo build --release --quiet --bin zkmargin-verifier
echo "== fixture: keys, oracle, parameters, proofs" >&2
ZKMARGIN_LOAD_DIR="$work" cargo test --release --quiet --test service_load_fixture -- \
    --ignored --nocapture write_load_fixture >&2

echo "== start the server" >&2
./target/release/zkmargin-verifier serve --bind 127.0.0.1:0 \
    --keys "$work/keys" --oracle "$work/oracle.json" --params "$work/params.json" \
    --request-timeout-ms 10000 2>"$work/server.log" &
server_pid=$!
addr=""
for _ in $(seq 1 200); do
    addr="$(grep -o 'listening on http://[0-9.:]*' "$work/server.log" | sed 's|listening on http://||' || true)"
    [ -n "$addr" ] && break
    sleep 0.05
done
if [ -z "$addr" ]; then
    cat "$work/server.log" >&2
    echo "server did not start" >&2
    exit 1
fi
base="http://$addr"
curl -sf "$base/healthz" >/dev/null
# The bundle must verify before we measure anything.
curl -sf -H 'content-type: application/json' --data-binary "@$work/bundle.json" \
    "$base/v1/verify" >/dev/null

# CPU seconds (user + system) the server has used so far: with other work on the
# machine, verifications per CPU-second say what the server does with the CPU it gets.
server_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$server_pid/stat"
}

run() { # name path body_file proofs_per_request connections [p99 target, ms]
    local name="$1" path="$2" body="$3" per="$4" connections="$5" target_p99="${6:-$target_p99}"
    echo "== $name: wrk -t$threads -c$connections -d${duration}s $base$path" >&2
    # Warm-up (caches, connections), not measured.
    BODY_FILE="$body" wrk -t"$threads" -c"$connections" -d2s -s scripts/load-post.lua \
        "$base$path" >/dev/null
    local cpu0 out
    cpu0="$(server_cpu)"
    out="$(BODY_FILE="$body" wrk -t"$threads" -c"$connections" -d"${duration}s" --latency \
        -s scripts/load-post.lua "$base$path")"
    echo "$out" >&2
    local line
    line="$(echo "$out" | grep '^RESULT')"
    local rps p50 p99 non2xx sockerr
    rps="$(echo "$line" | sed -E 's/.* rps=([0-9.]+).*/\1/')"
    p50="$(echo "$line" | sed -E 's/.* p50_ms=([0-9.]+).*/\1/')"
    p99="$(echo "$line" | sed -E 's/.* p99_ms=([0-9.]+).*/\1/')"
    non2xx="$(echo "$line" | sed -E 's/.* non2xx=([0-9]+).*/\1/')"
    sockerr="$(echo "$line" | sed -E 's/.* socket_errors=([0-9]+).*/\1/')"
    local vps
    vps="$(awk -v r="$rps" -v n="$per" 'BEGIN { printf "%.0f", r * n }')"
    local cpu secs per_cpu
    cpu="$(awk -v a="$cpu0" -v b="$(server_cpu)" 'BEGIN { printf "%.1f", b - a }')"
    secs="$(echo "$line" | sed -E 's/.* seconds=([0-9.]+).*/\1/')"
    per_cpu="$(awk -v r="$rps" -v n="$per" -v s="$secs" -v c="$cpu" 'BEGIN { printf "%.0f", r * n * s / c }')"
    printf '%-8s %10s req/s %10s verifications/s   p50 %7s ms   p99 %7s ms   non-2xx %s   socket errors %s\n' \
        "$name" "$rps" "$vps" "$p50" "$p99" "$non2xx" "$sockerr"
    printf '%-8s server used %s CPU-seconds in %s s: %s verifications per CPU-second\n' \
        "" "$cpu" "$secs" "$per_cpu"
    local ok=1
    [ "$non2xx" = 0 ] && [ "$sockerr" = 0 ] || ok=0
    awk -v v="$vps" -v t="$target_rps" 'BEGIN { exit !(v >= t) }' || ok=0
    awk -v p="$p99" -v t="$target_p99" 'BEGIN { exit !(p <= t) }' || ok=0
    [ "$ok" = 1 ] && echo "$name: targets met" || echo "$name: TARGET MISSED (>= $target_rps/s, p99 <= $target_p99 ms, no errors)"
    return $((1 - ok))
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "command: scripts/load.sh $duration $connections (wrk -t$threads, -c$connections single, -c$batch_connections batch, ${duration}s per run)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-min load average before the run)"
status=0
run single /v1/verify "$work/bundle.json" 1 "$connections" || status=1
# A batch request carries 16 or 64 proofs: a few connections keep both cores busy, more
# only queue whole batches (latency grows, throughput does not). A 64-proof request
# cannot finish in 50 ms on 2 cores, so its latency is reported against 200 ms.
run batch16 /v1/verify/batch "$work/batch16.json" 16 "$batch_connections" || status=1
run batch64 /v1/verify/batch "$work/batch64.json" 64 "$batch_connections" 200 || status=1

# The server's own count of rejections must be zero.
rejected="$(curl -sf "$base/metrics" | awk '/^zkmargin_rejections_total/ { s += $2 } END { print s + 0 }')"
coalesced="$(curl -sf "$base/metrics" | awk '/^zkmargin_batch_size_(sum|count)\{kind="coalesced"\}/ { v[$1 ~ /sum/] = $2 } END { if (v[0] > 0) printf "%.1f", v[1] / v[0]; else print "n/a" }')"
echo "server: rejections ${rejected}, mean single requests verified together ${coalesced}"
[ "$rejected" = 0 ] || status=1

kill -TERM "$server_pid"
wait "$server_pid" || status=1
server_pid=""
exit "$status"
