#!/usr/bin/env bash
# Build kube-apiserver, kube-controller-manager and agnhost ONCE from Debian's
# `kubernetes` source package and cache them, keyed by the package version.
#
#   e2e/cluster/build-kube.sh        # prints progress on stderr,
#                                    # the cache dir on the last line of stdout
#
# Env: GUNGNIR_CACHE (default $HOME/.cache/gungnir)
#      GUNGNIR_BUILD_TIMEOUT (seconds for `make`, default 2400)
# See /work/shared/design/testing.md ("Facts for the local cluster").
set -euo pipefail

BINARIES="kube-apiserver kube-controller-manager agnhost"
CACHE_ROOT=${GUNGNIR_CACHE:-$HOME/.cache/gungnir}
GO_BIN=/usr/lib/go-1.19/bin
REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2
DEBSRC_BASE=/etc/apt/sources.list.d/gungnir-deb-src
BUILD_TIMEOUT=${GUNGNIR_BUILD_TIMEOUT:-2400}

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
kube_version_from_apt() {
    apt-cache show --no-all-versions kubernetes-client 2>/dev/null | awk '
        /^Version:/ && v == ""          { v = $2 }
        /^Source: kubernetes \(.*\)$/ && s == "" { s = $3; gsub(/[()]/, "", s) }
        END { if (s != "") print s; else if (v != "") print v }'
}

# apt-cache takes about a second per call here (no pkgcache.bin), too slow
# for the cached path: remember the answer next to the cache, keyed by the
# package lists' names, sizes and mtimes.
kube_version() {
    local fp memo=$CACHE_ROOT/.kube-version v
    fp=$(stat -c '%n %s %Y' /var/lib/apt/lists/*Packages* 2>/dev/null | cksum)
    if [ -r "$memo" ] && [ "$(sed -n 1p "$memo")" = "$fp" ]; then
        v=$(sed -n 2p "$memo")
        [ -n "$v" ] && { echo "$v"; return 0; }
    fi
    v=$(kube_version_from_apt)
    [ -n "$v" ] || return 1
    if mkdir -p "$CACHE_ROOT" 2>/dev/null; then
        printf '%s\n%s\n' "$fp" "$v" > "$memo.$$" && mv -f "$memo.$$" "$memo" || rm -f "$memo.$$"
    fi
    echo "$v"
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
    # bookworm-security, ...) with component main, so third-party
    # repositories (which rarely serve sources) are left alone.
    awk -v codename="$2" '
        $1 != "deb" { next }
        {
            i = 2
            if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
            suite = $(i + 1)
            main = 0
            for (j = i + 2; j <= NF && $j !~ /^#/; j++) if ($j == "main") main = 1
            if (main && (suite == codename || index(suite, codename "-") == 1)) {
                sub(/^deb/, "deb-src"); print
            }
        }
    ' "$1"
}

have_debsrc() {
    # No `grep -q`: with pipefail, an early exit would SIGPIPE apt-cache.
    [ "$(apt-cache showsrc kubernetes 2>/dev/null | grep -c '^Package: kubernetes$')" != 0 ]
}

# Writes $DEBSRC_BASE.{sources,list} when apt knows no source package
# `kubernetes` yet. Returns 0 when it wrote something (apt-get update needed).
write_debsrc() {
    if have_debsrc; then
        say "deb-src for kubernetes already known to apt"
        return 1
    fi
    need_root "adding a deb-src entry"
    local codename entries
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"
    rm -f "$DEBSRC_BASE.sources" "$DEBSRC_BASE.list"
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
    return 0
}

# Packages for the build (dpkg-dev .. make) and for up.sh / netns.sh / tests.
PACKAGES="dpkg-dev golang-1.19-go rsync golang-github-modern-go-reflect2-dev make
          etcd-server openssl iproute2 iputils-ping procps util-linux"

missing_packages() {   # one dpkg-query for all: fast enough for the cached path
    local missing
    # shellcheck disable=SC2086
    missing=$(dpkg-query -W -f='${Package} ${Status}\n' $PACKAGES 2>/dev/null |
              awk '$NF == "installed" {ok[$1] = 1}
                   END { n = split(pk, a, " "); for (i = 1; i <= n; i++) if (!(a[i] in ok)) printf " %s", a[i] }' \
                  pk="$(echo $PACKAGES)")
    command -v kubectl >/dev/null || missing="$missing kubernetes-client"
    echo "$missing"
}

# deb-src entry (when $1 = src) + the packages; one apt-get update for both.
ensure_apt() {
    local missing need_update=0
    missing=$(missing_packages)
    if [ "${1:-}" = src ] && write_debsrc; then need_update=1; fi
    [ -n "$missing" ] && need_update=1
    if [ "$need_update" = 1 ]; then
        need_root "apt-get update"
        say "apt-get update"
        timeout 600 apt-get update >&2 || die "apt-get update failed"
    fi
    if [ -n "$missing" ]; then
        need_root "installing$missing"
        say "installing:$missing"
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive timeout 1200 \
            apt-get install -y --no-install-recommends $missing >&2 || die "apt-get install$missing failed"
    fi
    if [ "${1:-}" = src ]; then
        have_debsrc || die "apt still knows no source package 'kubernetes' (see $DEBSRC_BASE.*)"
    fi
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
    # The cache may come from elsewhere (a CI cache): the runtime packages
    # (etcd, kubectl, ...) are still needed.
    if [ -n "$(missing_packages)" ]; then
        exec 9>"$CACHE_ROOT/.build-kube.lock"
        flock 9
        ensure_apt
    fi
    say "cached: $CACHE_DIR"
    echo "$CACHE_DIR"
    exit 0
fi

# --- slow path: build ------------------------------------------------------
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build-kube.lock"
say "waiting for the build lock $CACHE_ROOT/.build-kube.lock"
flock -w $(( BUILD_TIMEOUT + 1800 )) 9 || die "gave up waiting for the build lock (another build-kube.sh runs)"
if have_all_binaries "$CACHE_DIR"; then     # another run finished meanwhile
    say "cached: $CACHE_DIR"
    echo "$CACHE_DIR"
    exit 0
fi

start=$(date +%s)
ensure_apt src

# The build tree lives under CACHE_ROOT, guarded by the lock we hold: any
# build tree found there now is a leftover of a killed run.
rm -rf "$CACHE_ROOT"/build.* "$CACHE_ROOT"/kube-*.tmp.*
WORK=$(mktemp -d "$CACHE_ROOT/build.XXXXXX")
cleanup() { rm -rf "$WORK" "$CACHE_DIR.tmp.$$"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
say "build tree: $WORK"

say "apt-get source --download-only kubernetes=$VERSION"
(cd "$WORK" && timeout 1200 apt-get source --download-only "kubernetes=$VERSION" >&2) ||
    die "apt-get source kubernetes=$VERSION failed"
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

say "make (cold build takes about 4 minutes on 2 cores; timeout ${BUILD_TIMEOUT} s)"
# GOCACHE inside the build tree, so nothing is left behind afterwards.
# GOFLAGS/GO111MODULE from the caller's environment must not leak in: the
# tree's scripts build in GOPATH mode from vendor/.
(cd "$WORK/src" &&
 env -u GOFLAGS -u GOPATH -u GOROOT -u GO111MODULE \
   PATH=$GO_BIN:$PATH CGO_ENABLED=0 GOCACHE=$WORK/gocache \
   timeout --kill-after=30 "$BUILD_TIMEOUT" \
   make WHAT="cmd/kube-apiserver cmd/kube-controller-manager test/images/agnhost" >&2) || {
    rc=$?
    [ "$rc" = 124 ] && die "make timed out after ${BUILD_TIMEOUT} s"
    die "make failed (exit $rc)"
}

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
