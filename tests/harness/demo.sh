#!/usr/bin/env bash
# The local demo: a systemd container stands in for a VM, and site.yml deploys the whole stack
# to it over SSH, as it would to a real VM.
#
#   tests/harness/demo.sh up        create (or reuse) the VM and deploy; prints the URL
#   tests/harness/demo.sh destroy   remove the VM (its data goes with it)
#   tests/harness/demo.sh check     check the running demo from outside the VM (curl, then a
#                                   browser login to the admin), no deploy (make demo-check)
#   tests/harness/demo.sh test      up, check, destroy (make test-demo)
#
# The VM is reached at 127.0.0.1:2222 as "deploy" (sudo, key in .cache/demo), the site at
# http://localhost:8080/. Where MongoDB comes from is DEMO_MONGODB_SOURCE:
#   auto      (default) probe MongoDB's key server; when it cannot be reached, install the MongoDB
#             stand-in (tests/standin, a test double of mongod) from a local repository instead,
#             through the same repository tasks; it says so
#   offline   the stand-in, without probing (make test-demo: the tests never reach outside)
#   official  MongoDB from repo.mongodb.org, without probing (fails where it cannot be reached)
set -euo pipefail
cd "$(dirname "$0")/../.."

name=django-mongodb-demo
image=localhost/django-mongodb-test:${SUITE:-bookworm}
cache=.cache
key=$cache/demo/id_ed25519
http_port=${DEMO_HTTP_PORT:-8080}
ssh_port=2222
mongodb_source=${DEMO_MONGODB_SOURCE:-auto}

destroy() {
  podman rm --force --ignore "$name" >/dev/null
  echo "demo: removed the demo VM ($name)"
}

# Where MongoDB comes from: prints "official" or "offline" (see DEMO_MONGODB_SOURCE above).
mongodb_source() {
  case "$mongodb_source" in
    official | offline) echo "$mongodb_source" ;;
    *)
      if curl --silent --fail --max-time 10 --output /dev/null https://pgp.mongodb.com/server-8.0.asc; then
        echo official
      else
        echo "demo: MongoDB's repository (repo.mongodb.org) cannot be reached from this machine." >&2
        echo offline
      fi
      ;;
  esac
}

check_source() {
  case "$mongodb_source" in
    auto | offline | official) ;;
    *) echo "demo: DEMO_MONGODB_SOURCE must be auto, offline or official, got '$mongodb_source'" >&2; exit 2 ;;
  esac
}

up() {
  local extra=() from
  from=$(mongodb_source)
  if [ "$from" = official ]; then
    echo "demo: installing MongoDB from repo.mongodb.org (DEMO_MONGODB_SOURCE=$mongodb_source)"
  else
    echo "demo: installing the MongoDB stand-in (DEMO_MONGODB_SOURCE=$mongodb_source): a test double"
    echo "demo: of mongod (tests/standin), served from a local apt repository through the same"
    echo "demo: repository tasks. Production inventories always install real MongoDB."
    tests/standin/build-repo.sh "$cache/mongodb-repo" >/dev/null
    extra=(--extra-vars "@tests/harness/offline-mongodb.yml")
  fi

  mkdir -p "$cache/demo"
  [ -f "$key" ] || ssh-keygen -q -t ed25519 -N '' -C demo-deploy -f "$key"

  if [ "$(podman container inspect --format '{{.State.Running}}' "$name" 2>/dev/null)" != "true" ]; then
    podman rm --force --ignore "$name" >/dev/null
    # NET_ADMIN: the mongodb role manages its nftables table, as on a VM.
    podman run --detach --name "$name" --hostname demo --systemd=always --cap-add NET_ADMIN \
      --publish "127.0.0.1:${http_port}:80" --publish "127.0.0.1:${ssh_port}:22" \
      --volume "$PWD/$cache/mongodb-repo:/srv/mongodb-repo:ro" \
      "$image" /sbin/init >/dev/null
    # What cloud-init does on a real VM: an unprivileged user with sudo and the deploy key.
    podman exec -i "$name" sh -s -- "$(cat "$key.pub")" <tests/harness/vm-user.sh
    # The test image has python3-apt, as cloud images do; the demo VM stands for a minimal host
    # without it, where Ansible's apt module installs it for itself over plain SSH.
    podman exec "$name" dpkg --purge python3-apt >/dev/null
    echo "demo: started the demo VM ($name): ssh -p $ssh_port -i $key deploy@127.0.0.1"
  else
    echo "demo: reusing the running demo VM ($name)"
  fi

  ansible-playbook -i inventory/local site.yml "${extra[@]}"

  cat <<MSG

demo: the site is up at http://localhost:${http_port}/ (admin: http://localhost:${http_port}/admin/)
demo: admin credentials: user "admin", password from app_django_superuser_password in
demo:   inventory/local/group_vars/all/vars.yml (demo values, refused outside the local inventory)
MSG
}

# One request from this machine: prints "<status> <content-type>" of the answer, or "none" when
# nginx closed the connection without a response.
fetch() {
  local out
  out=$(curl --silent --max-time 20 --output /dev/null --write-out '%{http_code} %{content_type}' \
    "$@") || out=none
  echo "$out"
}

expect() {
  local what=$1 want=$2 got
  shift 2
  got=$(fetch "$@")
  # shellcheck disable=SC2053 # $want is a glob pattern on purpose ("200 text/html*")
  if [[ $got == $want ]]; then
    echo "demo-test: ok   $what: $got"
  else
    echo "demo-test: FAIL $what: got '$got', wanted '$want'"
    failed=1
  fi
}

smoke_test() {
  local base=http://localhost:${http_port}
  failed=0
  expect "home page" "200 text/html*" "$base/"
  expect "health check (Django reaches MongoDB)" "200 *" "$base/healthz"
  expect "admin login page" "200 text/html*" "$base/admin/login/"
  expect "static file (served by nginx)" "200 text/css*" "$base/static/admin/css/base.css"
  expect "unknown host name (default server, 444)" "none" -H 'Host: unknown.example' "$base/"
  [ "$failed" = 0 ] || { echo "demo-test: the demo site failed its checks"; return 1; }
  echo "demo-test: all checks passed"
}

# A real browser (headless Chromium from Debian, driven by selenium) logs in to the admin and
# checks the admin index is shown and styled (tests/browser/admin_login.py). The password is the
# demo's own, read from the local inventory and passed in the environment, never on a command line.
browser_test() {
  local vars=inventory/local/group_vars/all/vars.yml password
  password=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["app_django_superuser_password"])' \
    "$vars") || { echo "demo-test: cannot read app_django_superuser_password from $vars"; return 1; }
  if ADMIN_PASSWORD=$password python3 tests/browser/admin_login.py --base-url "http://localhost:${http_port}" --user admin \
      --screenshot "$cache/demo/admin-login.png" >"$cache/demo/admin-login.json"; then
    echo "demo-test: ok   browser login to the admin (index shown and styled; $cache/demo/admin-login.json)"
  else
    echo "demo-test: FAIL browser login to the admin ($cache/demo/admin-login.json, $cache/demo/admin-login.png)"
    return 1
  fi
}

case "${1:-up}" in
  up) check_source; up ;;
  destroy) destroy ;;
  check)
    smoke_test
    browser_test
    ;;
  test)
    check_source
    trap destroy EXIT
    up
    smoke_test
    browser_test
    ;;
  *) echo "usage: $0 up|destroy|check|test" >&2; exit 2 ;;
esac
