#!/usr/bin/env bash
# What `make test` needs beyond the venv: finds or installs it, says what is missing, prints the PostgreSQL URL.
#
# - Debian's chromium (the console's browser tests; Playwright cannot download a browser here) and wrk
#   (the load test): installed with apt-get when we may (root, or passwordless sudo), else named.
# - PostgreSQL: SWITCHBOARD_TEST_DATABASE_URL if set, else the documented default (127.0.0.1:5432, trust
#   authentication, database `test`) when a server answers there; an installed but stopped cluster is
#   started when we may. PostgreSQL itself is never installed: without it the PostgreSQL half does not
#   run, and the end-of-run summary says so.
#
# Usage: scripts/test-prerequisites.sh PYTHON  (the venv's python, which checks the connection).
# Messages go to stderr; stdout carries only the URL to export (empty when there is no server).
set -uo pipefail

python=${1:?usage: $0 PYTHON}
default_url=postgresql://postgres@127.0.0.1:5432/test

say() { echo "make test: $*" >&2; }

# apt-get runs directly as root, through sudo when it asks no password, otherwise not at all.
as_root=()
may_administer=false
if [ "$(id -u)" = 0 ]; then
    may_administer=true
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
    may_administer=true
fi

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v wrk >/dev/null || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
    if $may_administer && command -v apt-get >/dev/null; then
        say "installing ${missing[*]} (browser tests, load test) with apt-get"
        "${as_root[@]}" apt-get update -qq >&2 &&
            DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null ||
            say "apt-get could not install ${missing[*]}; the tests that need them will not run"
    else
        say "missing ${missing[*]}: the browser tests need /usr/bin/chromium, the load test wrk;" \
            "install them with \`sudo apt-get install ${missing[*]}\` (Debian/Ubuntu package names)"
    fi
fi

# True when the URL's server accepts a connection (authentication and database included).
answers() {
    "$python" - "$1" <<'PY' 2>/dev/null
import sys

import psycopg  # the project's PostgreSQL driver

psycopg.connect(sys.argv[1].replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
PY
}

if [ -n "${SWITCHBOARD_TEST_DATABASE_URL:-}" ]; then
    # Chosen by the caller: used as given (a wrong URL fails the PostgreSQL tests rather than skipping them).
    echo "$SWITCHBOARD_TEST_DATABASE_URL"
    exit 0
fi
if ! answers "$default_url"; then
    clusters=$(ls /etc/postgresql 2>/dev/null | head -n 1)
    if [ -n "$clusters" ] && command -v pg_ctlcluster >/dev/null && $may_administer; then
        say "PostgreSQL is installed but not answering on 127.0.0.1:5432; starting cluster $clusters/main"
        "${as_root[@]}" pg_ctlcluster --skip-systemctl-redirect "$clusters" main start >&2 || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do answers "$default_url" && break; sleep 1; done
    fi
fi
if answers "$default_url"; then
    echo "$default_url"
else
    say "no PostgreSQL answers at $default_url: the PostgreSQL half will NOT run" \
        "(start a server there with trust authentication and a database \`test\`, or set SWITCHBOARD_TEST_DATABASE_URL)"
fi
