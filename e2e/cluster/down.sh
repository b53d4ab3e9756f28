#!/usr/bin/env bash
# Stop the local cluster that up.sh started, and remove the pod network.
#
#   e2e/cluster/down.sh [--dir STATE_DIR]   (default /tmp/gungnir-cluster)
#
# Stops the processes recorded in STATE_DIR/pids (SIGTERM, then SIGKILL after
# 10 s), then any etcd / kube-apiserver / kube-controller-manager whose command
# line still names STATE_DIR; deletes every gpod-* network namespace (killing
# what still runs inside), their veths and the bridge. Keeps STATE_DIR/logs for
# a post-mortem (up.sh wipes them). Idempotent: running it twice is fine.
set -euo pipefail

ME=down.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
parse_dir_arg "$@"
need_root

if [ -d "$STATE_DIR" ] && [ "${GUNGNIR_DOWN_LOCKED:-}" != 1 ]; then
    exec 8>"$STATE_DIR/.lock"
    flock -w 120 8 || die "another up.sh/down.sh holds $STATE_DIR/.lock"
fi

# stop_pids NAME PID...: TERM, wait up to 10 s, then KILL; wait until gone.
stop_pids() {
    local what=$1; shift
    local pids="$*" pid left
    [ -n "$pids" ] || return 0
    say "stopping $what: $pids"
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 1 40); do
        left=""
        for pid in $pids; do kill -0 "$pid" 2>/dev/null && left="$left $pid"; done
        [ -n "$left" ] || return 0
        sleep 0.25
    done
    say "still running after 10 s, SIGKILL:$left"
    kill -KILL $left 2>/dev/null || true
    for _ in $(seq 1 20); do
        left=""
        for pid in $pids; do kill -0 "$pid" 2>/dev/null && left="$left $pid"; done
        [ -n "$left" ] || return 0
        sleep 0.25
    done
    die "could not stop:$left"
}

# 1. The recorded processes: the apiserver and the controller-manager together,
#    then etcd (an apiserver whose etcd is gone hangs on SIGTERM until KILLed).
if [ -s "$STATE_DIR/pids" ]; then
    front=""; front_names=""; back=""
    while read -r name pid; do
        pid_alive "$pid" "$name" || continue
        if [ "$name" = etcd ]; then
            back="$back $pid"
        else
            front="$front $pid"; front_names="$front_names $name"
        fi
    done < "$STATE_DIR/pids"
    [ -z "$front" ] || stop_pids "${front_names# }" $front
    [ -z "$back" ] || stop_pids etcd $back
fi

# 2. Anything else of ours that names STATE_DIR (e.g. a pids file was lost).
stray=$(state_dir_pids | tr '\n' ' ')
[ -z "${stray// /}" ] || stop_pids "stray processes of $STATE_DIR" $stray

# 3. Pod network: the namespaces this cluster's node agent made (it records each one in
#    STATE_DIR/nodeagent/pods/*/netns; other clusters on this machine keep theirs), their veths,
#    then the bridge.
for f in "$STATE_DIR"/nodeagent/pods/*/netns; do
    [ -s "$f" ] || continue
    ns=$(cat "$f")
    ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns" || continue
    "$HERE/netns.sh" del "${ns#"$NETNS_PREFIX"}" >&2 || say "WARNING: could not delete netns $ns"
done
# Host-side veths whose peer is gone disappear with it; any gh-* left that is
# enslaved to our bridge goes too.
for dev in $(ip -o link show master "$GUNGNIR_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$dev" 2>/dev/null || true
done
if ip link show "$GUNGNIR_BRIDGE" >/dev/null 2>&1; then
    say "deleting bridge $GUNGNIR_BRIDGE"
    ip link del "$GUNGNIR_BRIDGE"
fi
if command -v iptables >/dev/null 2>&1; then
    while iptables -D FORWARD -i "$GUNGNIR_BRIDGE" -o "$GUNGNIR_BRIDGE" -j ACCEPT 2>/dev/null; do :; done
fi

# 4. Mark the state dir as down.
rm -f "$STATE_DIR/pids" "$STATE_DIR/env"

# 5. Prove it.
left=$(state_dir_pids | tr '\n' ' ')
[ -z "${left// /}" ] || die "processes of $STATE_DIR still running: $left"
say "down ($STATE_DIR): no etcd/kube-apiserver/kube-controller-manager/gungnir of it runs; its pod namespaces and the bridge $GUNGNIR_BRIDGE are gone"
