#!/usr/bin/env bash
# Fuzzing (docs/FUZZING.md): the cargo-fuzz targets in fuzz/, on the nightly toolchain.
#
#   scripts/fuzz.sh [SECONDS]   every target for SECONDS each (default 600): the long run
#   scripts/fuzz.sh smoke       every target for 10 s, without AddressSanitizer: the CI run
#                               (1 min + the build; ASan's build and slowdown buy little
#                               for crates that forbid unsafe code, and CI's time is short)
#   scripts/fuzz.sh cmin        merge what the runs found into fuzz/corpus/ and minimize it
#
# TARGETS="files proof_points" limits a run to those targets. Installs cargo-fuzz from
# crates.io when it is missing. Runs at the lowest CPU priority, one target at a time.
# New inputs go to fuzz/target/corpus/<target>; the committed seeds in
# fuzz/corpus/<target> are read, never written (`cmin` is the one step that changes them).
# Exits non-zero on the first crash, leak, timeout or out-of-memory; libFuzzer writes the
# input to fuzz/artifacts/<target>/ and `cargo +nightly fuzz run <target> <file>`
# replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-600}
case "$mode" in
    smoke) seconds=10 ;;
    cmin) seconds=0 ;;
    *[!0-9]* | "")
        echo "usage: scripts/fuzz.sh [SECONDS|smoke|cmin]" >&2
        exit 2
        ;;
    *) seconds=$mode ;;
esac

all="bundle_verify oracle_report files proof_points service_router ledger_apply"
targets=${TARGETS:-$all}

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzzing needs a nightly toolchain (rustup toolchain list shows none)" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

nice=(nice -n 19)
sanitizer=()
[ "$mode" = smoke ] && sanitizer=(--sanitizer none)
start=$(date +%s)
echo "== build (nightly, sanitizer coverage${sanitizer[*]:+, no ASan}) ($(date -u +%FT%TZ))"
(cd fuzz && "${nice[@]}" cargo +nightly fuzz build "${sanitizer[@]}")
echo "   built in $(($(date +%s) - start)) s"

if [ "$mode" = cmin ]; then
    for t in $targets; do
        if [ -d "fuzz/target/corpus/$t" ]; then
            cp -n fuzz/target/corpus/"$t"/* "fuzz/corpus/$t/" 2>/dev/null || true
        fi
        before=$(find "fuzz/corpus/$t" -type f | wc -l)
        # Edge coverage only (no hit-count buckets): the committed corpus stays small
        # (under 2 MB for all targets) and still reaches every edge the runs reached.
        (cd fuzz && "${nice[@]}" cargo +nightly fuzz cmin "$t" "corpus/$t" -- -use_counters=0 >/dev/null 2>&1)
        echo "== $t: $before -> $(find "fuzz/corpus/$t" -type f | wc -l) inputs, $(cat "fuzz/corpus/$t"/* | wc -c) bytes"
    done
    exit 0
fi

logs=fuzz/target/logs
mkdir -p "$logs"
for t in $targets; do
    mkdir -p "fuzz/target/corpus/$t" "fuzz/corpus/$t"
    echo "== $t: ${seconds} s ($(date -u +%FT%TZ))"
    status=0
    # Paths are relative to fuzz/, where cargo fuzz runs. -max_len: room for the longest
    # seeds (router requests with a bundle, ledger sequences of 32 operations) whatever
    # the minimized corpus keeps.
    (cd fuzz && "${nice[@]}" cargo +nightly fuzz run "${sanitizer[@]}" "$t" "target/corpus/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -max_len=8192 -print_final_stats=1) >"$logs/$t.log" 2>&1 || status=$?
    # The last status line (#N DONE cov: … ft: … corp: … exec/s: …) and the final stats.
    grep -E '^#[0-9]+' "$logs/$t.log" | tail -n 1 || true
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$logs/$t.log" || true
    if [ "$status" -ne 0 ]; then
        echo "!! $t failed (exit $status); the log is $logs/$t.log:" >&2
        grep -E -A 25 'panicked|ERROR: libFuzzer|ERROR: AddressSanitizer' "$logs/$t.log" | head -n 60 >&2 || tail -n 40 "$logs/$t.log" >&2
        exit 1
    fi
done
echo "== all targets clean in $(($(date +%s) - start)) s"
