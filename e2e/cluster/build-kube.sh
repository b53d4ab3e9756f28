#!/usr/bin/env bash
# Build kube-apiserver, kube-controller-manager and agnhost ONCE from Debian's
# `kubernetes` source package and cache them, keyed by the package version.
#
#   e2e/cluster/build-kube.sh        # prints progress on stderr,
#                                    # the cache dir on the last line of stdout
#
# Env: GUNGNIR_CACHE (default $HOME/.cache/gungnir)
# See /work/shared/design/testing.md ("Facts for the local cluster").
set -euo pipefail

BINARIES="kube-apiserver kube-controller-manager agnhost"
CACHE_ROOT=${GUNGNIR_CACHE:-$HOME/.cache/gungnir}
GO_BIN=/usr/lib/go-1.19/bin
REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2
DEBSRC_BASE=/etc/apt/sources.list.d/gungnir-deb-src

say() { echo "build-kube: $*" >&2; }
die() { echo "build-kube: ERROR: $*" >&2; exit 1; }

have_all_binaries() {
    local dir=$1 b
    for b in $BINARIES; do
        [ -x "$dir/$b" ] || return 1
    done
}

need_root() {
    [ "$(id -u)" -eq 0 ] || die "$1 needs root (run as root, or build once as root with GUNGNIR_CACHE set)"
}

# Version of the `kubernetes` source package apt would fetch. The binary
# package kubernetes-client comes from the same source, so its candidate
# version is known even before any deb-src entry exists.
kube_version() {
    local v src
    v=$(apt-cache policy kubernetes-client 2>/dev/null | awk '/Candidate:/ {print $2}')
    [ -n "$v" ] && [ "$v" != "(none)" ] || return 1
    # A binNMU'd binary says "Source: kubernetes (VERSION)"; prefer that.
    src=$(apt-cache show "kubernetes-client=$v" 2>/dev/null |
          sed -n 's/^Source: kubernetes (\(.*\))$/\1/p' | head -n1)
    echo "${src:-$v}"
}

# deb-src entries derived from the machine's own Debian sources: same URIs,
# suites and components; no host name is written here.
derive_debsrc_deb822() {   # $1 = a deb822 .sources file
    awk '
        function flush() {
            if (is_deb && !disabled && body != "") printf "Types: deb-src\n%s\n", body
            body = ""; is_deb = 0; disabled = 0
        }
        /^[[:space:]]*$/        { flush(); next }
        /^#/                    { next }
        /^Types:/               { if ($0 ~ /[[:space:]]deb([[:space:]]|$)/) is_deb = 1; next }
        /^Enabled:[[:space:]]*[Nn]o/ { disabled = 1 }
        { body = body $0 "\n" }
        END { flush() }
    ' "$1"
}

derive_debsrc_oneline() {  # $1 = a one-line sources.list, $2 = codename
    # Keep only this release's suites (bookworm, bookworm-updates,
    # bookworm-security, ...) so third-party repositories are left alone.
    awk -v codename="$2" '
        $1 != "deb" { next }
        {
            i = 2
            if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
            suite = $(i + 1)
            if (suite == codename || index(suite, codename "-") == 1) {
                sub(/^deb/, "deb-src"); print
            }
        }
    ' "$1"
}

ensure_debsrc() {
    if apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes$'; then
        say "deb-src for kubernetes already known to apt"
        return
    fi
    need_root "adding a deb-src entry"
    local codename entries
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"
    if [ -s /etc/apt/sources.list.d/debian.sources ]; then
        entries=$(derive_debsrc_deb822 /etc/apt/sources.list.d/debian.sources)
        if [ -n "$entries" ]; then
            say "deriving deb-src from /etc/apt/sources.list.d/debian.sources -> $DEBSRC_BASE.sources"
            printf '# Written by gungnir e2e/cluster/build-kube.sh\n%s\n' "$entries" > "$DEBSRC_BASE.sources"
        fi
    fi
    if [ ! -s "$DEBSRC_BASE.sources" ] && [ -s /etc/apt/sources.list ]; then
        entries=$(derive_debsrc_oneline /etc/apt/sources.list "$codename")
        if [ -n "$entries" ]; then
            say "deriving deb-src from /etc/apt/sources.list -> $DEBSRC_BASE.list"
            printf '# Written by gungnir e2e/cluster/build-kube.sh\n%s\n' "$entries" > "$DEBSRC_BASE.list"
        fi
    fi
    [ -s "$DEBSRC_BASE.sources" ] || [ -s "$DEBSRC_BASE.list" ] ||
        die "found no Debian 'deb' entry in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    say "apt-get update"
    apt-get update >&2
    apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes$' ||
        die "apt still knows no source package 'kubernetes' (see $DEBSRC_BASE.*)"
}

ensure_packages() {
    local missing="" p
    for p in dpkg-dev golang-1.19-go rsync golang-github-modern-go-reflect2-dev etcd-server; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing="$missing $p"
    done
    command -v kubectl >/dev/null || missing="$missing kubernetes-client"
    [ -n "$missing" ] || return 0
    need_root "installing$missing"
    say "installing:$missing"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >&2
}

# --- fast path: already cached? -------------------------------------------
VERSION=$(kube_version || true)
if [ -z "$VERSION" ]; then
    need_root "apt-get update"
    say "apt has no package lists yet; apt-get update"
    apt-get update >&2
    VERSION=$(kube_version) || die "apt knows no package kubernetes-client"
fi
CACHE_DIR=$CACHE_ROOT/kube-$VERSION
if have_all_binaries "$CACHE_DIR"; then
    say "cached: $CACHE_DIR"
    echo "$CACHE_DIR"
    exit 0
fi

# --- slow path: build ------------------------------------------------------
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build-kube.lock"
say "waiting for the build lock $CACHE_ROOT/.build-kube.lock"
flock 9
if have_all_binaries "$CACHE_DIR"; then     # another run finished meanwhile
    say "cached: $CACHE_DIR"
    echo "$CACHE_DIR"
    exit 0
fi

start=$(date +%s)
ensure_packages
ensure_debsrc

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gungnir-kube-build.XXXXXX")
cleanup() { rm -rf "$WORK" "$CACHE_DIR.tmp.$$"; }
trap cleanup EXIT
say "build tree: $WORK"

say "apt-get source --download-only kubernetes=$VERSION"
(cd "$WORK" && apt-get source --download-only "kubernetes=$VERSION" >&2)
DSC=$(ls "$WORK"/kubernetes_*.dsc)
say "dpkg-source -x $(basename "$DSC")"
dpkg-source -x "$DSC" "$WORK/src" >&2
rm -f "$WORK"/*.tar.* "$WORK"/*.dsc

say "replacing vendored modern-go/reflect2 with $REFLECT2_SRC"
VENDORED=$WORK/src/vendor/github.com/modern-go/reflect2
[ -d "$VENDORED" ] || die "no $VENDORED in the source tree"
[ -d "$REFLECT2_SRC" ] || die "no $REFLECT2_SRC (package golang-github-modern-go-reflect2-dev)"
rm -f "$VENDORED"/*.go "$VENDORED"/*.s
cp "$REFLECT2_SRC"/*.go "$VENDORED"/
cp "$REFLECT2_SRC"/*.s "$VENDORED"/ 2>/dev/null || true

say "make (cold build takes about 4 minutes on 2 cores)"
# GOCACHE inside the build tree, so nothing is left behind afterwards.
(cd "$WORK/src" &&
 PATH=$GO_BIN:$PATH CGO_ENABLED=0 GOCACHE=$WORK/gocache \
   make WHAT="cmd/kube-apiserver cmd/kube-controller-manager test/images/agnhost" >&2)

OUT=$WORK/src/_output/local/bin/linux/amd64
mkdir -p "$CACHE_DIR.tmp.$$"
for b in $BINARIES; do
    [ -x "$OUT/$b" ] || die "build produced no $OUT/$b"
    install -m 0755 "$OUT/$b" "$CACHE_DIR.tmp.$$/$b"
done
echo "$VERSION" > "$CACHE_DIR.tmp.$$/VERSION"
rm -rf "$CACHE_DIR"
mv "$CACHE_DIR.tmp.$$" "$CACHE_DIR"

say "built in $(( $(date +%s) - start )) s; cached in $CACHE_DIR"
echo "$CACHE_DIR"
