#!/usr/bin/env bash
# Per-pod network namespaces on the bridge up.sh creates (gungnir0,
# 10.250.0.1/24 on the host side).
#
#   e2e/cluster/netns.sh add POD IP      netns gpod-POD; veth gh-<hash> on the
#                                        bridge <-> eth0 inside with IP/24,
#                                        default route via 10.250.0.1, lo up
#   e2e/cluster/netns.sh del POD         kill what still runs inside, delete
#                                        the netns and the veth pair
#   e2e/cluster/netns.sh exec POD CMD... run CMD inside the pod's netns
#   e2e/cluster/netns.sh cut POD         partition: host-side veth down
#   e2e/cluster/netns.sh heal POD        undo cut
#   e2e/cluster/netns.sh list            NAME IP per line
#
# POD: [a-z0-9.-], at most 200 characters (e.g. NAMESPACE.PODNAME).
# IP: inside 10.250.0.0/24, .2 to .254 (a trailing /24 is accepted).
# `add` of an existing POD with the same IP succeeds and does nothing.
set -euo pipefail

ME=netns.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }

check_pod() {
    [[ $1 =~ ^[a-z0-9]([a-z0-9.-]{0,198}[a-z0-9])?$ ]] ||
        die "bad pod name '$1' (want [a-z0-9.-], at most 200 characters)"
}

pod_ip() {  # the IPv4 of eth0 inside gpod-$1, or nothing
    ip -n "$NETNS_PREFIX$1" -o -4 addr show dev eth0 2>/dev/null | awk '{sub(/\/.*/, "", $4); print $4; exit}'
}

ns_exists() { [ -e "/run/netns/$NETNS_PREFIX$1" ]; }

# Forget IP's MAC on the host and in every pod namespace: a pod that comes back
# with the same IP has a new MAC, and a stale neighbour entry would black-hole
# traffic to it for seconds.
flush_neigh() {
    local ip=$1 ns
    ip neigh flush to "$ip" dev "$GUNGNIR_BRIDGE" 2>/dev/null || true
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NETNS_PREFIX" || true); do
        ip -n "$ns" neigh flush to "$ip" 2>/dev/null || true
    done
}

cmd_add() {
    local pod=$1 ip=${2%/24} ns host tmp last
    check_pod "$pod"
    [[ $ip =~ ^${GUNGNIR_POD_PREFIX//./\\.}\.([0-9]{1,3})$ ]] ||
        die "IP '$2' is not in $GUNGNIR_POD_CIDR"
    last=${BASH_REMATCH[1]}
    [ "$last" -ge 2 ] && [ "$last" -le 254 ] ||
        die "IP '$2': want $GUNGNIR_POD_PREFIX.2 to $GUNGNIR_POD_PREFIX.254 (.1 is the host)"
    ip link show "$GUNGNIR_BRIDGE" >/dev/null 2>&1 ||
        die "no bridge $GUNGNIR_BRIDGE: run e2e/cluster/up.sh first"
    ns=$NETNS_PREFIX$pod
    if ns_exists "$pod"; then
        [ "$(pod_ip "$pod")" = "$ip" ] && return 0
        die "netns $ns already exists with IP '$(pod_ip "$pod")' (del it first)"
    fi
    local owner
    owner=$(cmd_list | awk -v ip="$ip" '$2 == ip {print $1; exit}')
    [ -z "$owner" ] || die "IP $ip is already used by pod $owner"

    host=$(veth_host_name "$pod")
    tmp="gp-${host#gh-}"
    ip netns add "$ns"
    if ! {
        ip link add "$host" type veth peer name "$tmp" &&
        ip link set "$tmp" netns "$ns" &&
        ip -n "$ns" link set "$tmp" name eth0 &&
        ip -n "$ns" addr add "$ip/24" dev eth0 &&
        ip -n "$ns" link set eth0 up &&
        ip -n "$ns" link set lo up &&
        ip -n "$ns" route add default via "$GUNGNIR_POD_GATEWAY" &&
        ip link set "$host" master "$GUNGNIR_BRIDGE" &&
        ip link set "$host" up
    }; then
        ip link del "$host" 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
        die "could not set up $ns"
    fi
    flush_neigh "$ip"
    say "added $ns: $ip/24 via $GUNGNIR_POD_GATEWAY (host veth $host)"
}

cmd_del() {
    local pod=$1 ns pids ip
    check_pod "$pod"
    ns=$NETNS_PREFIX$pod
    ip=$(pod_ip "$pod")
    ip link del "$(veth_host_name "$pod")" 2>/dev/null || true
    [ -z "$ip" ] || flush_neigh "$ip"
    ns_exists "$pod" || return 0
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    if [ -n "${pids// /}" ]; then
        say "killing what still runs in $ns: $pids"
        kill -TERM $pids 2>/dev/null || true
        for _ in $(seq 1 20); do
            pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
            [ -n "${pids// /}" ] || break
            sleep 0.25
        done
        [ -z "${pids// /}" ] || kill -KILL $pids 2>/dev/null || true
    fi
    ip netns del "$ns"
    say "deleted $ns"
}

cmd_list() {
    local ns
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NETNS_PREFIX" || true); do
        echo "${ns#"$NETNS_PREFIX"} $(pod_ip "${ns#"$NETNS_PREFIX"}")"
    done
}

cmd_link() {  # POD up|down
    check_pod "$1"
    ns_exists "$1" || die "no netns $NETNS_PREFIX$1"
    ip link set "$(veth_host_name "$1")" "$2"
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
case $1 in
-h|--help) usage ;;
add)  [ $# -eq 3 ] || die "usage: $ME add POD IP"; need_root; cmd_add "$2" "$3" ;;
del)  [ $# -eq 2 ] || die "usage: $ME del POD"; need_root; cmd_del "$2" ;;
exec) [ $# -ge 3 ] || die "usage: $ME exec POD CMD..."; need_root; check_pod "$2"
      ns_exists "$2" || die "no netns $NETNS_PREFIX$2"
      pod=$2; shift 2; exec ip netns exec "$NETNS_PREFIX$pod" "$@" ;;
cut)  [ $# -eq 2 ] || die "usage: $ME cut POD"; need_root; cmd_link "$2" down ;;
heal) [ $# -eq 2 ] || die "usage: $ME heal POD"; need_root; cmd_link "$2" up ;;
list) cmd_list ;;
*) die "unknown subcommand '$1' (add, del, exec, cut, heal, list)" ;;
esac
