#!/usr/bin/env bash
# bench/soak.sh DURATION_SECONDS — the soak: brings up a local cluster of its own (as
# e2e/local/run.sh does: e2e/cluster/up.sh + e2e/local/deploy.sh, in its own STATE_DIR, bridge and
# /24), creates two 3-pod ValkeyClusters, runs a steady acknowledged write load on each (SET + WAIT
# 1 500 to the current primary, through the read-write Service's Endpoints) and injects random
# faults one at a time for DURATION_SECONDS, each followed by its recovery: kill -9 the primary's
# server, SIGSTOP it for a while, partition it (netns cut), kill -9 gungnir and start it again,
# restart kube-apiserver, restart etcd, a switchover. Prints the totals: faults by kind, failovers,
# time to recover (median, max), acknowledged writes lost (goal 0), gungnir's VmRSS at the start and
# the end. ALWAYS stops the cluster it started. Needs root (bridge, network namespaces).
#
#   STATE_DIR (/tmp/gungnir-soak)  GUNGNIR_BRIDGE (gungnir-sk)  GUNGNIR_POD_PREFIX (10.250.23)
#   E2E_BUILD (build-sk)           SOAK_KEEP=1: leave the cluster up
#   SOAK_KINDS, SOAK_SEED, SOAK_RECOVER_S, SOAK_STOP_S, SOAK_GAP_S: see bench/soak_lib.sh
#
# The soak logic is bench/soak_lib.sh; the e2e suite e2e/local/test_soak.sh runs it for ~90 s.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
duration=${1:-}
[[ $duration =~ ^[0-9]+$ ]] && [ "$duration" -ge 30 ] || { echo "usage: bench/soak.sh DURATION_SECONDS (>= 30)" >&2; exit 2; }
export STATE_DIR=${STATE_DIR:-/tmp/gungnir-soak}
export E2E_BUILD=${E2E_BUILD:-build-sk}
export GUNGNIR_BRIDGE=${GUNGNIR_BRIDGE:-gungnir-sk}
export GUNGNIR_POD_PREFIX=${GUNGNIR_POD_PREFIX:-10.250.23}
export E2E_PLATFORM=local
export E2E_NS_PREFIX=${E2E_NS_PREFIX:-sk}
note() { printf '\n=== soak: %s\n' "$*"; }

# Stops this STATE_DIR's cluster only (other local clusters may run on this machine).
teardown() { bash "$root/e2e/cluster/down-isolated.sh" "$STATE_DIR"; }
cluster_started=0
finish() {
    local rc=$?
    if declare -F run_cleanups >/dev/null; then run_cleanups; fi
    if [ "$cluster_started" = 1 ]; then
        if [ "${SOAK_KEEP:-0}" = 1 ]; then
            note "SOAK_KEEP=1: the cluster stays up (GUNGNIR_BRIDGE=$GUNGNIR_BRIDGE bash e2e/cluster/down.sh --dir $STATE_DIR)"
        else
            note "stopping the cluster"
            teardown >"$STATE_DIR/down.log" 2>&1 || { echo "soak: down.sh failed:"; tail -n 20 "$STATE_DIR/down.log"; }
        fi
    fi
    exit "$rc"
}
trap finish EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "soak: must run as root (bridge, network namespaces)" >&2; exit 1; }
for tool in curl jq redis-cli kubectl python3; do
    command -v "$tool" >/dev/null || { echo "soak: missing $tool" >&2; exit 1; }
done

note "build ($E2E_BUILD: gungnir, gungnir-nodeagent)"
if [ ! -f "$E2E_BUILD/CMakeCache.txt" ]; then
    cmake -S . -B "$E2E_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGUNGNIR_FAULT_POINTS=ON >/dev/null || exit 1
fi
cmake --build "$E2E_BUILD" -j"$(nproc)" --target gungnir gungnir-nodeagent 2>&1 | grep -vE '^\[ *[0-9]+%\]|^gmake|^make'
[ -x "$E2E_BUILD/gungnir" ] && [ -x "$E2E_BUILD/e2e/nodeagent/gungnir-nodeagent" ] || { echo "soak: the build failed" >&2; exit 1; }

note "cluster (STATE_DIR $STATE_DIR, bridge $GUNGNIR_BRIDGE, pods $GUNGNIR_POD_PREFIX.0/24)"
mkdir -p "$STATE_DIR"
cluster_started=1
teardown >/dev/null 2>&1 || true
rm -f "$STATE_DIR/webhook-port"
if ! bash e2e/cluster/up.sh --dir "$STATE_DIR" >"$STATE_DIR/up.log" 2>&1; then
    echo "soak: up.sh failed:"; tail -n 30 "$STATE_DIR/up.log"; exit 1
fi
bash e2e/local/deploy.sh --dir "$STATE_DIR" --build "$E2E_BUILD" || { echo "soak: deploy.sh failed"; exit 1; }

# shellcheck source=../e2e/local/failover_lib.sh
. e2e/local/failover_lib.sh
# shellcheck source=../e2e/local/fault_scenarios_lib.sh
. e2e/local/fault_scenarios_lib.sh
# shellcheck source=soak_lib.sh
. bench/soak_lib.sh
SUITE=soak
note "soak for $duration s (log of gungnir: $STATE_DIR/logs/gungnir.log)"
soak_run "$duration"
rc=$?
[ "$rc" -eq 0 ] && [ "$SOAK_LOST" -eq 0 ] && [ "$SOAK_UNRECOVERED" -eq 0 ]
