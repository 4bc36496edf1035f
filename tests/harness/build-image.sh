#!/usr/bin/env bash
# Build (or reuse) the systemd test image that Molecule instances and the demo VM boot from.
#
#   tests/harness/build-image.sh SUITE [CACHE_DIR]
#
# SUITE is a Debian suite (bookworm today; trixie can be added without touching this script).
# The image is a debootstrap'ed Debian with systemd as PID 1, python3, python3-apt and sudo for
# Ansible (as cloud images have them: under the scenarios' Mitogen strategy Ansible's apt module
# cannot install python3-apt for itself; the demo removes it to stand for a minimal host),
# openssh-server for the SSH (demo) path, and the controller's extra CA certificates so that
# pip inside the instances trusts the same HTTPS proxy as the controller.
#
# Mirror: DEBIAN_MIRROR (for example DEBIAN_MIRROR=http://mirror.example/debian) if set, else the
# Debian mirror that this machine's own apt sources name. There is no built-in fallback host: when
# neither names one, the script stops and asks for DEBIAN_MIRROR.
#
# Caching: the image is tagged localhost/django-mongodb-test:SUITE and labelled with a hash of
# the recipe (the part of this script below "image recipe", the suite, the mirror, the packages
# and the CA files). If podman already holds an image with that label it is reused; otherwise a
# root filesystem tarball cached under CACHE_DIR (default .cache/images) is imported; only if
# that is missing too does debootstrap run (about a minute). How the mirror is found is not part
# of the hash, only which mirror it is: the same mirror given in DEBIAN_MIRROR or found in the
# apt sources gives the same image.
set -euo pipefail

suite=${1:?usage: build-image.sh SUITE [CACHE_DIR]}
cache_dir=${2:-.cache/images}
image="localhost/django-mongodb-test:${suite}"
packages="systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,iproute2,openssh-server,procps,less"

# The Debian mirror: DEBIAN_MIRROR, else the first ".../debian" URI of this machine's apt sources
# (deb822 *.sources, then the classic sources.list; "[option]" fields are skipped).
mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(awk '$1 == "URIs:" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }' \
             /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
  mirror=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }' \
             /etc/apt/sources.list 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
  echo "build-image: no Debian mirror is named in /etc/apt/sources.list or /etc/apt/sources.list.d/*.sources;" >&2
  echo "build-image: set DEBIAN_MIRROR to a Debian mirror this machine can reach, for example" >&2
  echo "build-image:   DEBIAN_MIRROR=http://<mirror host>/debian make test" >&2
  exit 2
fi
mirror=${mirror%/}
if [[ ! "$mirror" =~ ^https?://[^[:space:]]+$ ]]; then
  echo "build-image: DEBIAN_MIRROR must be an http:// or https:// URL such as http://<mirror host>/debian; got \"$mirror\"" >&2
  exit 2
fi

# Everything that shapes the image goes into the recipe hash: the part of this script from the
# "image recipe" line on, the suite, the mirror, the packages and the CA files.
recipe_hash=$( { sed -n '/^# --- image recipe ---$/,$p' "$0"; echo "$suite $mirror $packages";
                 cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true; } | sha256sum | cut -c1-16)

# --- image recipe ---
current=$(podman image inspect --format '{{ index .Labels "org.django-mongodb.recipe" }}' "$image" 2>/dev/null || true)
if [ "$current" = "$recipe_hash" ]; then
  echo "build-image: reusing cached image $image (recipe $recipe_hash)"
  exit 0
fi

mkdir -p "$cache_dir"
tarball="$cache_dir/${suite}-systemd-${recipe_hash}.tar"
if [ -f "$tarball" ]; then
  echo "build-image: importing cached root filesystem $tarball"
else
  echo "build-image: debootstrap $suite from $mirror (about a minute)"
  rootfs=$(mktemp -d "${TMPDIR:-/tmp}/rootfs-${suite}.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$cache_dir/debootstrap-${suite}.log" 2>&1 || {
    echo "build-image: debootstrap failed; last lines of $cache_dir/debootstrap-${suite}.log:" >&2
    tail -n 20 "$cache_dir/debootstrap-${suite}.log" >&2
    exit 1
  }
  # Apt sources like a real VM: the release, its updates and the security archive.
  security_mirror=${mirror%/debian}/debian-security
  cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security_mirror $suite-security main
SOURCES
  # Trust the controller's extra CAs (the intercepting HTTPS proxy) inside the image.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
  fi
  # A container has no consoles to log in on, and machine-id must be generated per instance.
  chroot "$rootfs" systemctl mask getty@tty1.service serial-getty@console.service >/dev/null 2>&1 || true
  : >"$rootfs/etc/machine-id"
  # Host keys are generated per instance, at sshd's first start, not baked into the image.
  rm -f "$rootfs"/etc/ssh/ssh_host_*
  mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
  printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' >"$rootfs/etc/systemd/system/ssh.service.d/hostkeys.conf"
  chroot "$rootfs" apt-get clean
  tar -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$rootfs"
  trap - EXIT
  # Older tarballs of the same suite are superseded by this recipe.
  find "$cache_dir" -name "${suite}-systemd-*.tar" ! -name "$(basename "$tarball")" -delete
fi

podman import --quiet \
  --change 'CMD ["/sbin/init"]' \
  --change "LABEL org.django-mongodb.recipe=$recipe_hash" \
  --change 'STOPSIGNAL SIGRTMIN+3' \
  "$tarball" "$image" >/dev/null
echo "build-image: built $image (recipe $recipe_hash)"
