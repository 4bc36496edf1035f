#!/bin/bash
# Install the MongoDB STAND-IN (test double) from the local repository built by
# build-repo.sh into a Debian 12 systemd container, with exactly the official
# recipe shape, and check the service like a user of real MongoDB would.
#
#   tests/standin/check-container.sh OUT_DIR
#
# Needs podman and a Debian 12 image with systemd, python3, ca-certificates
# (STANDIN_IMAGE, default localhost/django-mongodb-test:bookworm, built by `make image`).  With Debian's podman 4.3
# select a containers.conf with `default_ulimits = []` and `runtime = "runc"` through
# CONTAINERS_CONF.  The container (standin-check-<pid>) reaches the Debian mirror for
# python3-yaml and adduser; OUT_DIR is mounted read-only at /srv/mongodb-repo.
set -euo pipefail

OUT_DIR=$(cd "${1:?usage: check-container.sh OUT_DIR}" && pwd)
IMAGE=${STANDIN_IMAGE:-localhost/django-mongodb-test:bookworm}
NAME=standin-check-$$
DELAY=6

cleanup() { podman rm -f "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
in_ct() { podman exec "$NAME" bash -euo pipefail -c "$1"; }

step "start $NAME from $IMAGE"
podman run -d --systemd=always --name "$NAME" -v "$OUT_DIR:/srv/mongodb-repo:ro" \
    "$IMAGE" /sbin/init >/dev/null
for _ in $(seq 60); do
    state=$(podman exec "$NAME" systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
    sleep 1
done
echo "systemd: $state"

step "official recipe: key in /etc/apt/keyrings, signed-by source, apt-get install mongodb-org"
in_ct 'install -d -m 0755 /etc/apt/keyrings
cp /srv/mongodb-repo/server-8.0.asc /etc/apt/keyrings/mongodb-server-8.0.asc
echo "deb [ signed-by=/etc/apt/keyrings/mongodb-server-8.0.asc ] file:///srv/mongodb-repo/apt/debian bookworm/mongodb-org/8.0 main" \
    > /etc/apt/sources.list.d/mongodb-org-8.0.list
export DEBIAN_FRONTEND=noninteractive
apt-get update -q 2>&1 | tail -n 3
apt-get install -y -q mongodb-org 2>&1 | tail -n 3
dpkg-query -W -f "\${Package} \${Version}\n" mongodb-org mongodb-org-server'

step "package state: not started on install, user and directories created"
in_ct 'test "$(systemctl is-active mongod || true)" = inactive
getent passwd mongodb
stat -c "%U:%G %n" /var/lib/mongodb /var/log/mongodb
test "$(stat -c %U /var/lib/mongodb)" = mongodb
systemctl cat mongod | grep -E "^(User|Group|EnvironmentFile|ExecStart|RuntimeDirectory|LimitNOFILE|LimitNPROC)="
grep -q "TEST DOUBLE" <(dpkg-query -W -f "\${Description}" mongodb-org-server)
mongod --version | head -n 1'

step "configure: authorization in /etc/mongod.conf, readiness delay in /etc/default/mongod"
in_ct "printf 'security:\n  authorization: enabled\n' >> /etc/mongod.conf
echo MONGOD_STANDIN_READY_DELAY=$DELAY > /etc/default/mongod
systemctl start mongod"

step "readiness delay: connections refused, then served"
podman exec -i "$NAME" env DELAY="$DELAY" python3 - <<'EOF'
import os, socket, time
start = time.monotonic()
refused = 0
while time.monotonic() - start < float(os.environ["DELAY"]) - 2.5:
    try:
        socket.create_connection(("127.0.0.1", 27017), timeout=0.5).close()
        raise SystemExit("FAIL: mongod listened during the readiness delay")
    except ConnectionRefusedError:
        refused += 1
    time.sleep(0.25)
log = open("/var/log/mongodb/mongod.log").read()
assert "Preallocating journal files" in log, "no preallocation message"
assert "Waiting for connections" not in log, "listening too early"
deadline = time.monotonic() + 30
while True:
    try:
        socket.create_connection(("127.0.0.1", 27017), timeout=0.5).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            raise SystemExit("FAIL: never listened")
        time.sleep(0.2)
print("refused %d times during the delay; listening after %.1fs" % (
    refused, time.monotonic() - start))
EOF

step "service identity and configuration"
in_ct 'pid=$(systemctl show -p MainPID --value mongod)
echo "MainPID $pid runs as $(stat -c %U:%G /proc/$pid): $(tr "\0" " " < /proc/$pid/cmdline)"
test "$(stat -c %U /proc/$pid)" = mongodb
# systemd applies LimitNOFILE/LimitNPROC=64000 up to the hard limits of the container
grep -E "^Max open files|^Max processes" /proc/$pid/limits
test -d /run/mongodb'

step "clients: localhost exception, SCRAM, CRUD (pymongo vendored in the package)"
podman exec -i -e PYTHONPATH=/usr/lib/mongodb-org-server-standin "$NAME" python3 - <<'EOF'
import pymongo
from pymongo.errors import OperationFailure
anon = pymongo.MongoClient("127.0.0.1", 27017, serverSelectionTimeoutMS=10000)
anon.admin.command("createUser", "root", pwd="root-pw", roles=["root"])
try:
    anon.admin.command("listDatabases")
    raise SystemExit("FAIL: unauthenticated listDatabases allowed")
except OperationFailure as exc:
    assert exc.code == 13, exc
root = pymongo.MongoClient("127.0.0.1", 27017, username="root", password="root-pw")
opts = root.admin.command("getCmdLineOpts")
assert opts["parsed"]["config"] == "/etc/mongod.conf", opts
assert opts["parsed"]["security"]["authorization"] == "enabled", opts
assert opts["parsed"]["storage"]["dbPath"] == "/var/lib/mongodb", opts
assert root.server_info()["version"] == "8.0.0"
root.app.command("createUser", "app", pwd="app-pw", roles=["readWrite"])
app = pymongo.MongoClient("127.0.0.1", 27017, username="app", password="app-pw",
                          authSource="app")
app.app.items.insert_many([{"i": i} for i in range(5)])
# prepare a package downgrade to 7.0 the way MongoDB requires it
root.admin.command("setFeatureCompatibilityVersion", "7.0", confirm=True)
print("root and app users work; getCmdLineOpts:", opts["parsed"]["config"])
EOF

step "restart: data and users survive; clean stop"
in_ct 'echo MONGOD_STANDIN_READY_DELAY=0 > /etc/default/mongod
systemctl restart mongod
for i in $(seq 50); do python3 -c "import socket; socket.create_connection((\"127.0.0.1\", 27017)).close()" 2>/dev/null && break; sleep 0.2; done'
podman exec -i -e PYTHONPATH=/usr/lib/mongodb-org-server-standin "$NAME" python3 - <<'EOF'
import pymongo
app = pymongo.MongoClient("127.0.0.1", 27017, username="app", password="app-pw",
                          authSource="app", serverSelectionTimeoutMS=10000)
assert app.app.items.count_documents({}) == 5
print("after restart: 5 documents, app user still authenticates")
EOF
in_ct 'systemctl stop mongod
systemctl show -p Result -p ExecMainStatus mongod
test "$(systemctl show -p Result --value mongod)" = success
grep -c "\"Waiting for connections\"" /var/log/mongodb/mongod.log
tail -n 1 /var/log/mongodb/mongod.log'

step "7.0 series index is signed and installable side by side in apt's view"
in_ct 'cp /srv/mongodb-repo/server-7.0.asc /etc/apt/keyrings/mongodb-server-7.0.asc
echo "deb [ signed-by=/etc/apt/keyrings/mongodb-server-7.0.asc ] file:///srv/mongodb-repo/apt/debian bookworm/mongodb-org/7.0 main" \
    > /etc/apt/sources.list.d/mongodb-org-7.0.list
apt-get update -q 2>&1 | grep -E "mongodb-org|^(W|E):" || true
apt-cache madison mongodb-org
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --allow-downgrades mongodb-org=7.0.0~standin1 mongodb-org-server=7.0.0~standin1 2>&1 | tail -n 1
mongod --version | head -n 1
mongod --version | head -n 1 | grep -q "v7.0.0"
systemctl start mongod
for i in $(seq 50); do python3 -c "import socket; socket.create_connection((\"127.0.0.1\", 27017)).close()" 2>/dev/null && break; sleep 0.2; done
PYTHONPATH=/usr/lib/mongodb-org-server-standin python3 -c "
import pymongo
c = pymongo.MongoClient(\"127.0.0.1\", 27017, username=\"app\", password=\"app-pw\", authSource=\"app\")
assert c.server_info()[\"version\"] == \"7.0.0\"
assert c.admin.command(\"hello\")[\"maxWireVersion\"] == 21
print(\"7.0 stand-in serves the data of the 8.0 one:\", c.app.items.count_documents({}))
"
systemctl stop mongod'

step "PASS: stand-in installed from the local repository and behaved as expected"
