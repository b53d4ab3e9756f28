#!/usr/bin/env bash
# e2e/cluster/down-isolated.sh STATE_DIR — stops one local cluster without touching the others
# running on this machine. down.sh deletes EVERY gpod-* network namespace on the machine, also
# those of other clusters (other STATE_DIRs, other bridges). So: the node agent stops first
# (SIGTERM: it stops its pods and deletes their netns and veths), leftovers of this cluster's
# agent are deleted by name, and down.sh then runs with a private, empty /run/netns, so that it
# stops this STATE_DIR's processes and bridge and cannot see anybody else's pods.
set -uo pipefail
state_dir=${1:?usage: down-isolated.sh STATE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
agent=$(awk '$1 == "gungnir-nodeagent" {print $2}' "$state_dir/pids" 2>/dev/null | tail -n 1)
if [ -n "$agent" ] && kill -0 "$agent" 2>/dev/null; then
    kill -TERM "$agent"
    for _ in $(seq 1 150); do kill -0 "$agent" 2>/dev/null || break; sleep 0.2; done
fi
for f in "$state_dir"/nodeagent/pods/*/netns; do
    [ -s "$f" ] || continue
    n=$(cat "$f")
    ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$n" && bash "$here/netns.sh" del "${n#gpod-}"
done
mkdir -p /run/netns
unshare --mount --propagation private bash -c \
    'mount -t tmpfs isolated-netns /run/netns && exec bash "$0" --dir "$1"' "$here/down.sh" "$state_dir"
