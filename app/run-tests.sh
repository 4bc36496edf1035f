#!/usr/bin/env bash
# Run the hellodjango test suite against a throw-away MongoDB stand-in.
#
# Usage: app/run-tests.sh PYTHON [CONNECTOR] [-- TEST_LABEL...]
#
#   PYTHON      the interpreter of a virtualenv made from one of
#               app/requirements/*.txt plus mongomock==4.3.0 and pyyaml
#   CONNECTOR   django_mongodb_backend or djongo; by default it is detected
#               from the packages installed for PYTHON
#   TEST_LABEL  passed on to "manage.py test" (default: the whole suite)
#
# The stand-in (tests/standin, a test double, not MongoDB) runs with --auth on
# a free local port in a temporary directory; this script creates an
# administrator through the localhost exception and an application user, writes
# a test environment JSON, runs "PYTHON manage.py test" and stops the stand-in
# on exit. The stand-in runs under STANDIN_PYTHON (default: PYTHON), which
# needs mongomock, pymongo and pyyaml. The last line of output is
# "hellodjango: N passed, N failed". Exits non-zero on any failure.

set -euo pipefail

usage() {
    sed -n '4,10s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

[ $# -ge 1 ] || usage
PYTHON=$1
shift
CONNECTOR=auto
if [ $# -ge 1 ] && [ "$1" != "--" ]; then
    CONNECTOR=$1
    shift
fi
if [ $# -ge 1 ] && [ "$1" = "--" ]; then
    shift
fi

APP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STANDIN_DIR=$(cd "$APP_DIR/../tests/standin" && pwd)
STANDIN_PYTHON=${STANDIN_PYTHON:-$PYTHON}

command -v "$PYTHON" >/dev/null || { echo "run-tests.sh: $PYTHON: not found" >&2; exit 2; }

if [ "$CONNECTOR" = auto ]; then
    CONNECTOR=$("$PYTHON" - <<'EOF'
from importlib.util import find_spec
found = [name for name in ("django_mongodb_backend", "djongo") if find_spec(name)]
print(found[0] if len(found) == 1 else "")
EOF
)
    if [ -z "$CONNECTOR" ]; then
        echo "run-tests.sh: cannot tell the connector from $PYTHON's packages;" \
            "pass django_mongodb_backend or djongo as the second argument" >&2
        exit 2
    fi
fi
case $CONNECTOR in
    django_mongodb_backend | djongo) ;;
    *) echo "run-tests.sh: unknown connector '$CONNECTOR'" >&2; exit 2 ;;
esac

if [ ! -f "$STANDIN_DIR/mongod_standin/__main__.py" ]; then
    echo "run-tests.sh: the MongoDB stand-in is missing ($STANDIN_DIR/mongod_standin)" >&2
    exit 2
fi

WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hellodjango-tests.XXXXXX")
STANDIN_PID=
TEST_PID=

# shellcheck disable=SC2317  # invoked through the EXIT trap
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$TEST_PID" ] && kill -0 "$TEST_PID" 2>/dev/null; then
        kill "$TEST_PID" 2>/dev/null || true
        wait "$TEST_PID" 2>/dev/null || true
    fi
    if [ -n "$STANDIN_PID" ] && kill -0 "$STANDIN_PID" 2>/dev/null; then
        kill "$STANDIN_PID" 2>/dev/null || true
        wait "$STANDIN_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK_DIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK_DIR/db"

echo "run-tests.sh: $CONNECTOR, $("$PYTHON" -c 'import django; print("Django", django.get_version())'), stand-in on 127.0.0.1:$PORT" >&2
PYTHONPATH="$STANDIN_DIR${PYTHONPATH:+:$PYTHONPATH}" "$STANDIN_PYTHON" -m mongod_standin \
    --port "$PORT" --dbpath "$WORK_DIR/db" --bind_ip 127.0.0.1 --auth \
    >"$WORK_DIR/standin.log" 2>&1 &
STANDIN_PID=$!

# Wait for the stand-in, then create the users: an administrator through the
# localhost exception, and the application's user, entitled to the database
# and to the test database that Django's test runner creates (test_<name>).
export HELLODJANGO_TEST_PORT=$PORT HELLODJANGO_TEST_PID=$STANDIN_PID
APP_PASSWORD=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(18))')
ADMIN_PASSWORD=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(18))')
export APP_PASSWORD ADMIN_PASSWORD
if ! "$PYTHON" - <<'EOF'
import os
import sys
import time

from pymongo import MongoClient
from pymongo.errors import PyMongoError

port = int(os.environ["HELLODJANGO_TEST_PORT"])
pid = int(os.environ["HELLODJANGO_TEST_PID"])
deadline = time.monotonic() + 60
while True:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("run-tests.sh: the stand-in exited during start-up")
    client = MongoClient("127.0.0.1", port, serverSelectionTimeoutMS=500)
    try:
        client.admin.command("ping")
        break
    except PyMongoError as exc:
        if time.monotonic() > deadline:
            sys.exit(f"run-tests.sh: the stand-in did not answer within 60 s: {exc}")
        time.sleep(0.5)
    finally:
        client.close()

with MongoClient("127.0.0.1", port) as client:
    client.admin.command(
        "createUser", "admin", pwd=os.environ["ADMIN_PASSWORD"], roles=["root"]
    )
with MongoClient(
    "127.0.0.1", port,
    username="admin", password=os.environ["ADMIN_PASSWORD"], authSource="admin",
) as client:
    roles = [
        {"role": role, "db": db}
        for db in ("hellodjango", "test_hellodjango")
        for role in ("readWrite", "dbAdmin")
    ]
    client.admin.command(
        "createUser", "hellodjango", pwd=os.environ["APP_PASSWORD"], roles=roles
    )
EOF
then
    echo "run-tests.sh: stand-in log:" >&2
    cat "$WORK_DIR/standin.log" >&2
    exit 1
fi

export DJANGO_ENV_FILE=$WORK_DIR/environment.json
export HELLODJANGO_TEST_CONNECTOR=$CONNECTOR HELLODJANGO_TEST_DIR=$WORK_DIR
"$PYTHON" - <<'EOF'
import json
import os

work_dir = os.environ["HELLODJANGO_TEST_DIR"]
url = (
    f"mongodb://hellodjango:{os.environ['APP_PASSWORD']}"
    f"@127.0.0.1:{os.environ['HELLODJANGO_TEST_PORT']}/hellodjango?authSource=admin"
)
environment = {
    "DJANGO_SECRET_KEY": "test-only-" + os.urandom(32).hex(),
    "DJANGO_DEBUG": False,
    "DJANGO_ALLOWED_HOSTS": ["localhost", "127.0.0.1"],
    "DJANGO_CSRF_TRUSTED_ORIGINS": [],
    "DJANGO_DB_CONNECTOR": os.environ["HELLODJANGO_TEST_CONNECTOR"],
    "MONGODB_URL": url,
    "MONGODB_NAME": "hellodjango",
    "DOTCLOUD_DB_MONGODB_URL": url,
    "DJANGO_MEDIA_ROOT": f"{work_dir}/media",
    "DJANGO_MEDIA_URL": "/media/",
    "DJANGO_STATIC_ROOT": f"{work_dir}/static",
    "DJANGO_STATIC_URL": "/static/",
    "DJANGO_HTTPS": False,
    "DJANGO_HSTS_SECONDS": 0,
    "DJANGO_HSTS_INCLUDE_SUBDOMAINS": False,
    "DJANGO_HSTS_PRELOAD": False,
    "DJANGO_LOG_LEVEL": "WARNING",
}
with open(os.environ["DJANGO_ENV_FILE"], "w", encoding="utf-8") as fh:
    json.dump(environment, fh, indent=2)
EOF
unset APP_PASSWORD ADMIN_PASSWORD

cd "$APP_DIR"
# Static files are stored under hashed names (ManifestStaticFilesStorage): templates need the
# manifest that collectstatic writes, as on a deployed host.
"$PYTHON" manage.py collectstatic --noinput --verbosity 0
# In the background, so that a signal to this script is handled at once (bash
# runs traps only between foreground commands) and the cleanup can stop it.
mkfifo "$WORK_DIR/test.pipe"
tee "$WORK_DIR/test.log" <"$WORK_DIR/test.pipe" &
TEE_PID=$!
"$PYTHON" manage.py test --noinput "$@" >"$WORK_DIR/test.pipe" 2>&1 &
TEST_PID=$!
status=0
wait "$TEST_PID" || status=$?
TEST_PID=
wait "$TEE_PID" || true

if [ "$status" -ne 0 ] && [ -s "$WORK_DIR/standin.log" ]; then
    echo "run-tests.sh: last lines of the stand-in log:" >&2
    tail -n 20 "$WORK_DIR/standin.log" >&2
fi

# Close with a plain "N passed, N failed" line taken from unittest's summary.
"$PYTHON" - "$WORK_DIR/test.log" <<'EOF' || true
import re
import sys

with open(sys.argv[1], encoding="utf-8", errors="replace") as fh:
    text = fh.read()
ran = re.findall(r"^Ran (\d+) tests? in ", text, re.MULTILINE)
result = re.findall(r"^(?:OK|FAILED)(?: \((.*)\))?$", text, re.MULTILINE)
if ran and result:
    counts = {}
    for item in filter(None, result[-1].split(", ")):
        key, _, value = item.partition("=")
        counts[key] = int(value)
    failed = sum(counts.get(key, 0) for key in ("failures", "errors", "unexpected successes"))
    skipped = counts.get("skipped", 0)
    passed = int(ran[-1]) - failed - skipped - counts.get("expected failures", 0)
    print(f"hellodjango: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
EOF
exit "$status"
