#!/usr/bin/env bash
# Property-based API testing: schemathesis (PyPI) against docs/openapi.yaml and the
# real `zkmargin-verifier serve`.
#
#   scripts/schemathesis.sh [MAX_SECS]
#
# Installs a pinned schemathesis into a virtual environment (target/schemathesis-venv,
# reused when the version matches), starts target/release/zkmargin-verifier serve
# (build it first: `cargo build --release --bin zkmargin-verifier`) on a free loopback
# port with the repository's development keys, committee and parameters and a
# throw-away SQLite ledger (so POST /v1/settle is exercised too), and runs
# every phase schemathesis has (examples, coverage, fuzzing, stateful) against every
# operation of the spec with the checks `not_a_server_error` (no 5xx) and
# `response_schema_conformance` plus `status_code_conformance` and
# `content_type_conformance` (every answer is one the spec lists, with its schema and
# content type). The run is bounded by MAX_SECS (default 120; the script adds the
# install and start-up). Exits non-zero on any failure; the server is stopped with
# SIGTERM either way. Traffic goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
max_secs="${1:-120}"
venv=target/schemathesis-venv
binary=target/release/zkmargin-verifier

if [ ! -x "$binary" ]; then
    echo "schemathesis.sh: $binary is missing: cargo build --release --bin zkmargin-verifier" >&2
    exit 2
fi
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "schemathesis.sh: installing schemathesis $SCHEMATHESIS_VERSION into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
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

# Development defaults (keys/, the development committee and parameters) and a
# throw-away SQLite ledger in the temporary directory, so /v1/settle is served
# (--allow-development: a test ledger; nothing here settles money).
env -u ZKMARGIN_LEDGER_DB -u ZKMARGIN_KEYS -u ZKMARGIN_ORACLE -u ZKMARGIN_PARAMS \
    -u ZKMARGIN_ALLOW_DEVELOPMENT RUST_LOG=warn \
    "$binary" serve --bind 127.0.0.1:0 \
    --ledger "sqlite://$work/ledger.db?mode=rwc" --allow-development \
    2>"$work/server.log" &
server_pid=$!
addr=""
for _ in $(seq 1 300); do
    addr="$(sed -n 's/.*listening on http:\/\/\([0-9.:]*\).*/\1/p' "$work/server.log" | head -1)"
    [ -n "$addr" ] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "schemathesis.sh: the server exited:" >&2
        cat "$work/server.log" >&2
        exit 2
    fi
    sleep 0.1
done
if [ -z "$addr" ]; then
    echo "schemathesis.sh: the server did not announce its address:" >&2
    cat "$work/server.log" >&2
    exit 2
fi
echo "schemathesis.sh: zkmargin-verifier serve on http://$addr, schemathesis $SCHEMATHESIS_VERSION for at most ${max_secs} s" >&2

status=0
# From the temporary directory: schemathesis keeps a cache (.schemathesis/) in its
# working directory, which is not the repository's business.
spec="$PWD/docs/openapi.yaml"
st="$PWD/$venv/bin/st"
(cd "$work" && timeout --signal=TERM "$((max_secs + 30))" \
    "$st" --no-color run "$spec" \
    --url "http://$addr" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --max-time "$max_secs" \
    --request-timeout 30 \
    --workers 2 \
    --seed 1 \
    --generation-database none \
    --suppress-health-check all) || status=$?

if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "schemathesis.sh: the server died during the run:" >&2
    cat "$work/server.log" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "schemathesis.sh: schemathesis failed (exit $status); server log:" >&2
    tail -50 "$work/server.log" >&2
fi
exit "$status"
