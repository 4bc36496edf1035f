#!/bin/bash
# Build the MongoDB STAND-IN packages and a local apt repository laid out like
# repo.mongodb.org -- for OFFLINE TESTS ONLY.  The packages are a test double of
# MongoDB (tests/standin/mongod_standin), not MongoDB.
#
#   tests/standin/build-repo.sh OUT_DIR
#
# Produces:
#   OUT_DIR/apt/debian/dists/bookworm/mongodb-org/{7.0,8.0}/{Release,InRelease,Release.gpg,
#           main/binary-{amd64,arm64}/Packages{,.gz}}
#   OUT_DIR/apt/debian/pool/main/m/{mongodb-org,mongodb-org-server}/*.deb
#           (two releases per series, X.Y.0 and X.Y.1, so that a patch upgrade can be tested;
#           each reports its own package version through buildInfo)
#   OUT_DIR/server-8.0.asc, OUT_DIR/server-7.0.asc  (throwaway signing keys, ASCII-armoured;
#           the secret keys stay in OUT_DIR/gnupg -- never commit OUT_DIR)
# Client side, exactly the official recipe with another URL and key:
#   deb [ signed-by=/etc/apt/keyrings/mongodb-server-8.0.asc ] file:///srv/mongodb-repo/apt/debian bookworm/mongodb-org/8.0 main
#
# Needs: Debian packages dpkg-dev (dpkg-deb), apt-utils (apt-ftparchive), gnupg, and pip
# of the python it runs with (PYTHON, default python3) to fetch the vendored wheels listed
# in packaging/vendor-requirements.txt.  Idempotent: if the inputs are unchanged and the
# repository exists, it does nothing; the signing keys are kept across rebuilds.
set -euo pipefail

OUT_DIR=${1:?usage: build-repo.sh OUT_DIR}
PYTHON=${PYTHON:-python3}
SERIES_LIST=${STANDIN_SERIES:-"8.0 7.0"}
# Patch releases built for every series: X.Y.0 and X.Y.1.
PATCHES=${STANDIN_PATCHES:-"0 1"}
SUITE=bookworm
RELEASE=standin1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKG_LIB=usr/lib/mongodb-org-server-standin

for tool in dpkg-deb apt-ftparchive gpg gzip; do
    command -v "$tool" >/dev/null || { echo "build-repo.sh: $tool is missing (apt-get install dpkg-dev apt-utils gnupg)" >&2; exit 1; }
done
"$PYTHON" -m pip --version >/dev/null 2>&1 || { echo "build-repo.sh: pip for $PYTHON is missing" >&2; exit 1; }

mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

inputs_hash() {
    (cd "$HERE" && find mongod_standin packaging build-repo.sh README.md -type f \
        ! -name '*.pyc' ! -path '*__pycache__*' -print0 | sort -z | xargs -0 sha256sum;
     echo "series=$SERIES_LIST patches=$PATCHES suite=$SUITE release=$RELEASE") | sha256sum | cut -d' ' -f1
}
HASH=$(inputs_hash)
if [ -f "$OUT_DIR/.inputs.sha256" ] && [ "$(cat "$OUT_DIR/.inputs.sha256")" = "$HASH" ]; then
    complete=1
    for series in $SERIES_LIST; do
        [ -f "$OUT_DIR/apt/debian/dists/$SUITE/mongodb-org/$series/InRelease" ] || complete=0
        [ -f "$OUT_DIR/server-$series.asc" ] || complete=0
    done
    if [ "$complete" = 1 ]; then
        echo "build-repo.sh: $OUT_DIR is up to date (inputs $HASH)"
        exit 0
    fi
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------- vendored libraries
WHEELS="$OUT_DIR/cache/wheels"
mkdir -p "$WHEELS"
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: \
    --dest "$WHEELS" -r "$HERE/packaging/vendor-requirements.txt"
VENDOR="$WORK/vendor"
mkdir -p "$VENDOR"
while read -r req; do
    case "$req" in ''|\#*) continue ;; esac
    name=${req%%==*}; version=${req##*==}
    wheel=$(ls "$WHEELS"/"$(echo "$name" | tr - _)"-"$version"-*.whl 2>/dev/null | head -n1 || true)
    [ -n "$wheel" ] || { echo "build-repo.sh: no wheel for $req in $WHEELS" >&2; exit 1; }
    "$PYTHON" -m zipfile -e "$wheel" "$VENDOR"
done < "$HERE/packaging/vendor-requirements.txt"
# pure Python only: drop compiled extensions, byte-code and bundled test data
find "$VENDOR" \( -name '*.so' -o -name '*.pyd' -o -name '*.pyc' \) -delete
find "$VENDOR" -name __pycache__ -type d -prune -exec rm -rf {} +
if find "$VENDOR" -name '*.so*' | grep -q .; then
    echo "build-repo.sh: compiled files left in the vendored tree" >&2; exit 1
fi

# ---------------------------------------------------------------------- packages
# $1: the MongoDB version the package stands in for (X.Y.Z); the Debian version adds ~standin<N>.
deb_version() { echo "$1~$RELEASE"; }

build_server() {
    local server_version=$1 version root
    version=$(deb_version "$server_version")
    root="$WORK/mongodb-org-server-$server_version"
    mkdir -p "$root/DEBIAN" "$root/$PKG_LIB" "$root/usr/bin" "$root/lib/systemd/system" \
        "$root/etc" "$root/usr/share/doc/mongodb-org-server"
    cp -r "$VENDOR"/. "$root/$PKG_LIB/"
    mkdir -p "$root/$PKG_LIB/mongod_standin"
    cp "$HERE"/mongod_standin/*.py "$root/$PKG_LIB/mongod_standin/"
    sed -i "s/^SERVER_VERSION = .*/SERVER_VERSION = \"$server_version\"/; s/^STANDIN_RELEASE = .*/STANDIN_RELEASE = \"$RELEASE\"/" \
        "$root/$PKG_LIB/mongod_standin/version.py"
    grep -q "^SERVER_VERSION = \"$server_version\"$" "$root/$PKG_LIB/mongod_standin/version.py"
    install -m 0644 "$HERE/packaging/mongod.py" "$root/$PKG_LIB/mongod.py"
    install -m 0755 "$HERE/packaging/mongod" "$root/usr/bin/mongod"
    install -m 0644 "$HERE/packaging/mongod.service" "$root/lib/systemd/system/mongod.service"
    install -m 0644 "$HERE/packaging/mongod.conf" "$root/etc/mongod.conf"
    for script in postinst prerm postrm; do
        install -m 0755 "$HERE/packaging/$script" "$root/DEBIAN/$script"
    done
    echo "/etc/mongod.conf" > "$root/DEBIAN/conffiles"
    install -m 0644 "$HERE/README.md" "$root/usr/share/doc/mongodb-org-server/README.standin.md"
    cat > "$root/usr/share/doc/mongodb-org-server/copyright" <<EOF
This package is a TEST DOUBLE of MongoDB's mongod (the "MongoDB stand-in"), built by
this project's test harness for offline tests.  It is not MongoDB and contains no
MongoDB code.

Vendored third-party Python libraries under /$PKG_LIB keep their licence files
in their *.dist-info directories:
$(sed -n 's/^\([A-Za-z].*\)$/  \1/p' "$HERE/packaging/vendor-requirements.txt")
EOF
    find "$root" -type d -exec chmod 0755 {} +
    find "$root/$PKG_LIB" -type f -exec chmod 0644 {} +
    local size
    size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
    cat > "$root/DEBIAN/control" <<EOF
Package: mongodb-org-server
Version: $version
Architecture: all
Maintainer: Project test harness <standin@example.invalid>
Installed-Size: $size
Depends: python3 (>= 3.9), python3-yaml, adduser
Conflicts: mongodb-server, mongodb-server-core, mongodb-org-unstable-server
Section: database
Priority: optional
Homepage: https://www.mongodb.org
Description: TEST DOUBLE of the MongoDB server for offline tests - NOT MongoDB
 This package is a TEST DOUBLE (stand-in) of MongoDB's mongod for offline tests.
 It is NOT MongoDB.  /usr/bin/mongod runs a small Python program that speaks
 MongoDB's wire protocol (OP_MSG), SCRAM authentication and role checks, stores
 data durably under storage.dbPath and reads /etc/mongod.conf, with query
 semantics from mongomock.  It reports version $server_version.
 .
 Never install it in production: real systems install mongodb-org from
 repo.mongodb.org.
EOF
    dpkg-deb --root-owner-group -Zxz --build "$root" "$WORK/mongodb-org-server_${version}_all.deb" >/dev/null
}

build_meta() {
    local server_version=$1 version root
    version=$(deb_version "$server_version")
    root="$WORK/mongodb-org-$server_version"
    mkdir -p "$root/DEBIAN" "$root/usr/share/doc/mongodb-org"
    cat > "$root/usr/share/doc/mongodb-org/copyright" <<EOF
Metapackage of the MongoDB stand-in: a TEST DOUBLE of MongoDB for offline tests,
not MongoDB.
EOF
    cat > "$root/DEBIAN/control" <<EOF
Package: mongodb-org
Version: $version
Architecture: all
Maintainer: Project test harness <standin@example.invalid>
Depends: mongodb-org-server (= $version)
Section: database
Priority: optional
Description: TEST DOUBLE metapackage of MongoDB for offline tests - NOT MongoDB
 This metapackage installs the MongoDB stand-in (mongodb-org-server $version),
 a TEST DOUBLE of mongod for offline tests.  It is NOT MongoDB.  Real systems
 install mongodb-org from repo.mongodb.org.
EOF
    find "$root" -type d -exec chmod 0755 {} +
    dpkg-deb --root-owner-group -Zxz --build "$root" "$WORK/mongodb-org_${version}_all.deb" >/dev/null
}

# ------------------------------------------------------------------------- keys
export GNUPGHOME="$OUT_DIR/gnupg"
mkdir -p "$GNUPGHOME"
chmod 700 "$GNUPGHOME"
key_uid() { echo "MongoDB stand-in $1 TEST repository (throwaway key, offline tests only) <standin-$1@example.invalid>"; }
key_fpr() {
    gpg --batch --with-colons --list-secret-keys "$(key_uid "$1")" 2>/dev/null \
        | awk -F: '/^fpr:/ {print $10; exit}'
}
for series in $SERIES_LIST; do
    if [ -z "$(key_fpr "$series")" ]; then
        gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
            --quick-generate-key "$(key_uid "$series")" ed25519 sign never
    fi
    gpg --batch --armor --export "$(key_fpr "$series")" > "$OUT_DIR/server-$series.asc"
done

# --------------------------------------------------------------------- repository
# Build into apt.new and swap it in at the end, so a reader never sees half a repository.
REPO="$OUT_DIR/apt.new/debian"
rm -rf "$OUT_DIR/apt.new"
mkdir -p "$REPO/pool/main/m/mongodb-org-server" "$REPO/pool/main/m/mongodb-org"
for series in $SERIES_LIST; do
    for patch in $PATCHES; do
        build_server "$series.$patch"
        build_meta "$series.$patch"
    done
done
mv "$WORK"/mongodb-org-server_*.deb "$REPO/pool/main/m/mongodb-org-server/"
mv "$WORK"/mongodb-org_*.deb "$REPO/pool/main/m/mongodb-org/"

for series in $SERIES_LIST; do
    dist="dists/$SUITE/mongodb-org/$series"
    for arch in amd64 arm64; do
        dir="$REPO/$dist/main/binary-$arch"
        mkdir -p "$dir"
        # one index per series: keep only this series' stanzas (every patch release of it)
        (cd "$REPO" && apt-ftparchive packages pool/main) \
            | awk -v RS= -v ORS='\n\n' -v v="$series." 'index($0, "\nVersion: " v)' \
            > "$dir/Packages"
        for patch in $PATCHES; do
            grep -qx "Version: $(deb_version "$series.$patch")" "$dir/Packages"
        done
        grep -q "^Package: mongodb-org-server$" "$dir/Packages"
        gzip -9nc "$dir/Packages" > "$dir/Packages.gz"
    done
    (cd "$REPO/$dist" && apt-ftparchive \
        -o APT::FTPArchive::Release::Origin=mongodb \
        -o APT::FTPArchive::Release::Label=mongodb \
        -o APT::FTPArchive::Release::Suite="$SUITE" \
        -o APT::FTPArchive::Release::Codename="$SUITE/mongodb-org/$series" \
        -o APT::FTPArchive::Release::Architectures="amd64 arm64" \
        -o APT::FTPArchive::Release::Components=main \
        -o APT::FTPArchive::Release::Description="MongoDB stand-in packages (TEST DOUBLE, not MongoDB)" \
        release . > "$WORK/Release" && mv "$WORK/Release" Release)
    fpr=$(key_fpr "$series")
    gpg --batch --yes --local-user "$fpr" --clearsign -o "$REPO/$dist/InRelease" "$REPO/$dist/Release"
    gpg --batch --yes --local-user "$fpr" --armor --detach-sign -o "$REPO/$dist/Release.gpg" \
        "$REPO/$dist/Release"
done

rm -rf "$OUT_DIR/apt.old"
if [ -d "$OUT_DIR/apt" ]; then mv "$OUT_DIR/apt" "$OUT_DIR/apt.old"; fi
mv "$OUT_DIR/apt.new" "$OUT_DIR/apt"
rm -rf "$OUT_DIR/apt.old"
REPO="$OUT_DIR/apt/debian"
echo "$HASH" > "$OUT_DIR/.inputs.sha256"
echo "build-repo.sh: repository ready in $OUT_DIR"
find "$REPO" -name '*.deb' -printf '  %P\n' | sort
