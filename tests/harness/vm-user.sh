#!/bin/sh
# What cloud-init does on a new VM, inside a test container: once sshd runs, an unprivileged user
# "deploy" with passwordless sudo and the given public key. Run by the demo (tests/harness/demo.sh)
# and the Molecule instances (molecule/shared/create.yml), as root inside the container:
#
#   podman exec -i CONTAINER sh -s -- "PUBLIC KEY" < tests/harness/vm-user.sh
set -eu
key=${1:?usage: vm-user.sh PUBLIC-KEY}
# sshd generates its host keys at its first start (the image has none).
tries=0
until systemctl is-active --quiet ssh; do
  tries=$((tries + 1))
  [ "$tries" -le 120 ] || { echo "vm-user: ssh.service is not active after 60 s" >&2; exit 1; }
  sleep 0.5
done
id deploy >/dev/null 2>&1 || useradd --create-home --shell /bin/bash deploy
echo "deploy ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/deploy
chmod 0440 /etc/sudoers.d/deploy
install -d -m 0700 -o deploy -g deploy /home/deploy/.ssh
printf '%s\n' "$key" > /home/deploy/.ssh/authorized_keys
chown deploy:deploy /home/deploy/.ssh/authorized_keys
chmod 0600 /home/deploy/.ssh/authorized_keys
