#!/usr/bin/env bash
# The local demo: a systemd container stands in for a VM, and site.yml deploys the whole stack
# to it over SSH, as it would to a real VM.
#
#   tests/harness/demo.sh up        create (or reuse) the VM and deploy; prints the URL
#   tests/harness/demo.sh destroy   remove the VM (its data goes with it)
#   tests/harness/demo.sh test      up, check the site from outside the VM, destroy (make test-demo)
#
# The VM is reached at 127.0.0.1:2222 as "deploy" (sudo, key in .cache/demo), the site at
# http://localhost:8080/. When MongoDB's repository cannot be reached from this machine, the demo
# installs the MongoDB stand-in (tests/standin, a test double of mongod) from a local repository
# instead, through the same repository tasks; it says so.
set -euo pipefail
cd "$(dirname "$0")/../.."

name=django-mongodb-demo
image=localhost/django-mongodb-test:${SUITE:-bookworm}
cache=.cache
key=$cache/demo/id_ed25519
http_port=${DEMO_HTTP_PORT:-8080}
ssh_port=2222

destroy() {
  podman rm --force --ignore "$name" >/dev/null
  echo "demo: removed the demo VM ($name)"
}

up() {
  local extra=()
  if curl --silent --fail --max-time 10 --output /dev/null https://pgp.mongodb.com/server-8.0.asc; then
    echo "demo: MongoDB's repository is reachable: installing MongoDB from repo.mongodb.org"
  else
    echo "demo: MongoDB's repository (repo.mongodb.org) cannot be reached from this machine."
    echo "demo: installing the MongoDB stand-in instead: a test double of mongod (tests/standin),"
    echo "demo: served from a local apt repository through the same repository tasks. Production"
    echo "demo: inventories always install real MongoDB."
    tests/standin/build-repo.sh "$cache/mongodb-repo" >/dev/null
    extra=(--extra-vars "@tests/harness/offline-mongodb.yml")
  fi

  mkdir -p "$cache/demo"
  [ -f "$key" ] || ssh-keygen -q -t ed25519 -N '' -C demo-deploy -f "$key"

  if [ "$(podman container inspect --format '{{.State.Running}}' "$name" 2>/dev/null)" != "true" ]; then
    podman rm --force --ignore "$name" >/dev/null
    podman run --detach --name "$name" --hostname demo --systemd=always \
      --publish "127.0.0.1:${http_port}:80" --publish "127.0.0.1:${ssh_port}:22" \
      --volume "$PWD/$cache/mongodb-repo:/srv/mongodb-repo:ro" \
      "$image" /sbin/init >/dev/null
    # What cloud-init does on a real VM: an unprivileged user with sudo and the deploy key.
    podman exec -i "$name" sh -euc '
      until systemctl is-active --quiet ssh; do sleep 1; done
      useradd --create-home --shell /bin/bash deploy
      echo "deploy ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/deploy
      chmod 0440 /etc/sudoers.d/deploy
      install -d -m 0700 -o deploy -g deploy /home/deploy/.ssh
      cat > /home/deploy/.ssh/authorized_keys
      chown deploy:deploy /home/deploy/.ssh/authorized_keys
      chmod 0600 /home/deploy/.ssh/authorized_keys' <"$key.pub"
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

case "${1:-up}" in
  up) up ;;
  destroy) destroy ;;
  test)
    trap destroy EXIT
    up
    smoke_test
    ;;
  *) echo "usage: $0 up|destroy|test" >&2; exit 2 ;;
esac
