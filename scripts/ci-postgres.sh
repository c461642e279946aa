#!/usr/bin/env bash
# Points the settlement tests at a PostgreSQL server and prints the line that says
# where: the server already running on 127.0.0.1:5432 when there is one, otherwise a
# throwaway server started here:
#
#   eval "$(bash scripts/ci-postgres.sh)"      # sets ZKMARGIN_TEST_POSTGRES_URL
#   cargo test --release -p zkmargin-settlement
#   bash scripts/ci-postgres.sh stop           # stops it, removes its directory
#
# Installs the Debian package `postgresql` if no server binaries are found (as root).
# The cluster lives in a new temporary directory, listens on 127.0.0.1 only, on a
# free port, with a random password; it runs as the `postgres` system user when this
# script runs as root (PostgreSQL refuses to run as root). It is for tests: fsync is
# off. Only the export lines go to stdout; everything else goes to stderr. If the
# server cannot be installed or started, the reason is printed and the script exits 0
# without setting the URL — the PostgreSQL tests then skip with a printed reason.
#
# Options: --env-file FILE also writes the export lines to FILE.
set -uo pipefail

say() { printf 'ci-postgres: %s\n' "$*" >&2; }
give_up() {
    say "PostgreSQL unavailable: $*; the PostgreSQL tests will be skipped"
    [[ -n "${tmp:-}" && -d "${tmp:-}" ]] && rm -rf "$tmp"
    exit 0
}

# --- stop ------------------------------------------------------------------------
if [[ "${1:-}" == "stop" ]]; then
    dir="${ZKMARGIN_TEST_POSTGRES_DIR:-}"
    if [[ -z "$dir" || ! -f "$dir/data/PG_VERSION" ]]; then
        say "nothing to stop (ZKMARGIN_TEST_POSTGRES_DIR is not a cluster directory)"
        exit 0
    fi
    bindir="$(cat "$dir/bindir")"
    owner="$(stat -c %U "$dir/data")"
    if [[ "$(id -u)" == 0 && "$owner" != root ]]; then
        runuser -u "$owner" -- "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    else
        "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    fi
    rm -rf "$dir"
    say "stopped and removed $dir"
    exit 0
fi

env_file=""
if [[ "${1:-}" == "--env-file" ]]; then
    env_file="${2:?--env-file needs a path}"
fi

# --- a server already running on this machine ------------------------------------
# Development and CI machines start PostgreSQL on 127.0.0.1:5432 with trust auth and a
# database `test`. The tests create (and drop) a database of their own per test on it,
# so runs never collide. ZKMARGIN_PG_ADMIN_URL overrides the URL tried.
existing="${ZKMARGIN_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}"
if command -v psql >/dev/null \
    && psql "$existing" -v ON_ERROR_STOP=1 -qAt -c "SELECT 1" >/dev/null 2>&1; then
    say "using the running PostgreSQL server at ${existing%%@*}@… (tests create their own databases on it)"
    lines="export ZKMARGIN_TEST_POSTGRES_URL='$existing'"
    [[ -n "$env_file" ]] && printf '%s\n' "$lines" >"$env_file"
    printf '%s\n' "$lines"
    exit 0
fi

# --- server binaries ---------------------------------------------------------------
find_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] && { echo "$d"; return 0; }
    done
    if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    return 1
}

bindir="$(find_bindir)" || {
    if [[ "$(id -u)" != 0 ]]; then
        give_up "no PostgreSQL server binaries, and not root to install them"
    fi
    command -v apt-get >/dev/null || give_up "no PostgreSQL server binaries and no apt-get"
    say "installing the Debian package postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || give_up "apt-get update failed"
    apt-get install -y -qq postgresql >&2 || give_up "apt-get install postgresql failed"
    bindir="$(find_bindir)" || give_up "postgresql installed but no initdb/pg_ctl found"
}
say "server binaries: $bindir ($("$bindir/postgres" --version 2>/dev/null))"

# --- who runs it -------------------------------------------------------------------
as_owner() { "$@"; }
owner="$(id -un)"
if [[ "$(id -u)" == 0 ]]; then
    owner=postgres
    if ! id "$owner" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$owner" >&2 \
            || give_up "cannot create a postgres system user"
    fi
    if command -v runuser >/dev/null; then
        as_owner() { runuser -u "$owner" -- "$@"; }
    else
        as_owner() { su -s /bin/sh "$owner" -c "$(printf '%q ' "$@")"; }
    fi
fi

# --- cluster -----------------------------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/zkmargin-pg.XXXXXX")" || give_up "mktemp failed"
echo "$bindir" >"$tmp/bindir"
password="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$password" >"$tmp/pwfile"
chmod 600 "$tmp/pwfile"
[[ "$owner" != "$(id -un)" ]] && chown -R "$owner" "$tmp"

cd "$tmp" || give_up "cannot enter $tmp"
as_owner "$bindir/initdb" -D "$tmp/data" -U zkmargin --pwfile="$tmp/pwfile" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 --no-locale -E UTF8 \
    >"$tmp/initdb.log" 2>&1 || give_up "initdb failed: $(tail -n 3 "$tmp/initdb.log" | tr '\n' ' ')"
rm -f "$tmp/pwfile"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

started=""
for _ in $(seq 1 20); do
    port=$(( 20000 + RANDOM % 30000 ))
    port_in_use "$port" && continue
    if as_owner "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$tmp -c fsync=off -c full_page_writes=off -c max_connections=200" \
        start >&2; then
        started=1
        break
    fi
done
[[ -n "$started" ]] || give_up "the server did not start: $(tail -n 3 "$tmp/server.log" 2>/dev/null | tr '\n' ' ')"

export PGPASSWORD="$password"
psql_bin="$bindir/psql"
[[ -x "$psql_bin" ]] || psql_bin="$(command -v psql)"
if ! "$psql_bin" -h 127.0.0.1 -p "$port" -U zkmargin -d postgres -v ON_ERROR_STOP=1 -qAt \
    -c "CREATE DATABASE zkmargin" >&2; then
    as_owner "$bindir/pg_ctl" -D "$tmp/data" -m fast stop >&2
    give_up "cannot create the database"
fi

url="postgres://zkmargin:$password@127.0.0.1:$port/zkmargin"
lines="export ZKMARGIN_TEST_POSTGRES_URL='$url'
export ZKMARGIN_TEST_POSTGRES_DIR='$tmp'"
say "PostgreSQL is up on 127.0.0.1:$port (data in $tmp; stop with: bash scripts/ci-postgres.sh stop)"
[[ -n "$env_file" ]] && printf '%s\n' "$lines" >"$env_file"
printf '%s\n' "$lines"
