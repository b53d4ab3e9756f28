# Shared by up.sh, down.sh and netns.sh (sourced, not run).
# shellcheck shell=bash

# shellcheck disable=SC2034  # used by the scripts that source this
GUNGNIR_BRIDGE=${GUNGNIR_BRIDGE:-gungnir0}
# A private /24 used only on the bridge and inside the pod namespaces.
GUNGNIR_POD_PREFIX=${GUNGNIR_POD_PREFIX:-10.250.0}
GUNGNIR_POD_GATEWAY=$GUNGNIR_POD_PREFIX.1
GUNGNIR_POD_CIDR=$GUNGNIR_POD_PREFIX.0/24
NETNS_PREFIX=gpod-
DEFAULT_STATE_DIR=/tmp/gungnir-cluster

# The processes up.sh starts, in start order (down.sh stops them in reverse).
CLUSTER_PROCS="etcd kube-apiserver kube-controller-manager gungnir gungnir-nodeagent"

die() { echo "$ME: ERROR: $*" >&2; exit 1; }
say() { echo "$ME: $*" >&2; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (bridge, network namespaces)"
}

# parse_dir_arg "$@": sets STATE_DIR from --dir DIR / --dir=DIR.
parse_dir_arg() {
    STATE_DIR=${GUNGNIR_CLUSTER_DIR:-$DEFAULT_STATE_DIR}
    while [ $# -gt 0 ]; do
        case $1 in
        --dir) [ $# -ge 2 ] || die "--dir needs a value"; STATE_DIR=$2; shift 2 ;;
        --dir=*) STATE_DIR=${1#--dir=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (usage: $ME [--dir STATE_DIR])" ;;
        esac
    done
    case $STATE_DIR in
    /*) ;;
    *) STATE_DIR=$PWD/$STATE_DIR ;;
    esac
    STATE_DIR=${STATE_DIR%/}
    [ -n "$STATE_DIR" ] && [ "$STATE_DIR" != / ] || die "refusing STATE_DIR '/'"
}

# pid_alive PID NAME: the pid exists and runs the binary NAME (guards against
# pid reuse after a reboot or a long time).
pid_alive() {
    local pid=$1 name=$2 exe
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    [ "${exe##*/}" = "$name" ] || [ "${exe##*/}" = "$name (deleted)" ]
}

# Pids of etcd / kube-apiserver / kube-controller-manager whose command line
# names STATE_DIR: the ones up.sh started for this state dir.
state_dir_pids() {
    local pid exe
    # comm is cut to 15 characters (kube-controller), so match the full
    # command line and then check the executable.
    for pid in $(pgrep -f -- "$STATE_DIR/" 2>/dev/null); do
        exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
        exe=${exe##*/}; exe=${exe% (deleted)}
        case " $CLUSTER_PROCS " in
        *" $exe "*)
            tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STATE_DIR/" && echo "$pid" ;;
        esac
    done
    return 0
}

# Host-side veth name for a pod (IFNAMSIZ is 16): gh- + 10 hex digits.
veth_host_name() {
    echo "gh-$(printf '%s' "$1" | sha1sum | cut -c1-10)"
}
