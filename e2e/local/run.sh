#!/usr/bin/env bash
# e2e/local/run.sh — the end-to-end suites against the local cluster: builds gungnir and the node
# agent if needed, starts a fresh cluster (e2e/cluster/up.sh) in STATE_DIR, deploys Gungnir
# (e2e/local/deploy.sh), runs every suite (e2e/local/test_*.sh), and ALWAYS stops the cluster
# again (e2e/cluster/down.sh). Ends with "e2e-local: N passed, M failed"; exits non-zero on any
# failure. Needs root (bridge, network namespaces).
#
#   bash e2e/local/run.sh [suite...]        e.g. bash e2e/local/run.sh basic scale
#
#   STATE_DIR            default /tmp/gungnir-e2e
#   E2E_BUILD            build dir (default build)
#   GUNGNIR_BRIDGE       bridge of the pod network (default gungnir-e2e, not the default
#   GUNGNIR_POD_PREFIX   gungnir0/10.250.0 of e2e/demo.sh) and its /24 (default 10.250.9)
#   E2E_SUITE_TIMEOUT    seconds per suite (default 360; fault_points: 600, or 14400 with
#                        FAULT_POINTS_FULL=1 — a longer per-suite timeout below wins)
#   E2E_BUDGET           seconds for all suites; the ones that would start later are failed (default 3000)
#   E2E_KEEP=1           leave the cluster up at the end (for debugging; down.sh --dir STATE_DIR)
#
# Several local clusters may run on one machine when each has its own STATE_DIR, bridge and /24;
# the teardown below keeps down.sh away from the other clusters' pod namespaces. Another
# cluster's plain down.sh still deletes this one's pods (every gpod-* netns): avoid that overlap.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd)
export STATE_DIR=${STATE_DIR:-/tmp/gungnir-e2e}
export E2E_BUILD=${E2E_BUILD:-build}
export GUNGNIR_BRIDGE=${GUNGNIR_BRIDGE:-gungnir-e2e}
export GUNGNIR_POD_PREFIX=${GUNGNIR_POD_PREFIX:-10.250.9}
export E2E_PLATFORM=local
suite_timeout=${E2E_SUITE_TIMEOUT:-360}
budget=${E2E_BUDGET:-3000}
all_suites=(basic scale invalid owned_recreate restart_operator restart_apiserver leader
            pod_security metrics pdb
            failover_kill failover_user_secret password_rotation live_config failover_partition failover_scale_down failover_priority_zero failover_operator_killed
            switchover rolling_update storage_growth fault_scenarios soak fault_points)
# Suites that need more than E2E_SUITE_TIMEOUT: the fault-point walk restarts gungnir once per
# case (quick: ~20 runs; FAULT_POINTS_FULL=1 walks every hit: ~150 runs).
declare -A suite_timeouts=([fault_points]=$([ "${FAULT_POINTS_FULL:-0}" = 1 ] && echo 14400 || echo 600))
timeout_of() { local t=${suite_timeouts[$1]:-0}; if [ "$t" -gt "$suite_timeout" ]; then echo "$t"; else echo "$suite_timeout"; fi; }
if [ $# -gt 0 ]; then suites=("$@"); else suites=("${all_suites[@]}"); fi
passed=0
failed=0
t_start=$(date +%s)
logs=$STATE_DIR/e2e-logs

say() { printf '\n=== e2e-local: %s\n' "$*"; }
# Stops this STATE_DIR's cluster only (other local clusters may run on this machine).
teardown() { bash "$root/e2e/cluster/down-isolated.sh" "$STATE_DIR"; }
finish() {
    local rc=$?
    if [ "${E2E_KEEP:-0}" = 1 ]; then
        say "E2E_KEEP=1: the cluster stays up (stop it with: GUNGNIR_BRIDGE=$GUNGNIR_BRIDGE bash e2e/cluster/down.sh --dir $STATE_DIR)"
    else
        say "stopping the cluster"
        teardown >"$STATE_DIR/down.log" 2>&1 || { echo "e2e-local: down.sh failed:"; tail -n 20 "$STATE_DIR/down.log"; }
    fi
    echo
    echo "e2e-local: $passed passed, $failed failed ($(($(date +%s) - t_start)) s; logs in $STATE_DIR/logs and $logs)"
    [ "$failed" -eq 0 ] && [ "$rc" -eq 0 ] && exit 0
    exit 1
}
trap finish EXIT
trap 'failed=$((failed + 1)); exit 1' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "e2e-local: must run as root (bridge, network namespaces)" >&2; failed=$((failed + 1)); exit 1; }
for tool in curl jq redis-cli kubectl; do
    command -v "$tool" >/dev/null || { echo "e2e-local: missing $tool" >&2; failed=$((failed + 1)); exit 1; }
done

say "build ($E2E_BUILD: gungnir, gungnir-nodeagent)"
# The test build: the fault points of the fault-injection suite are compiled in (an existing
# build dir keeps its build type, and gets them too).
if [ ! -f "$E2E_BUILD/CMakeCache.txt" ]; then
    cmake -S . -B "$E2E_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGUNGNIR_FAULT_POINTS=ON >/dev/null || { failed=$((failed + 1)); exit 1; }
else
    cmake -S . -B "$E2E_BUILD" -DGUNGNIR_FAULT_POINTS=ON >/dev/null || { failed=$((failed + 1)); exit 1; }
fi
if ! cmake --build "$E2E_BUILD" -j"$(nproc)" --target gungnir gungnir-nodeagent 2>&1 | grep -vE '^\[ *[0-9]+%\]|^gmake|^make'; then :; fi
[ -x "$E2E_BUILD/gungnir" ] && [ -x "$E2E_BUILD/e2e/nodeagent/gungnir-nodeagent" ] ||
    { echo "e2e-local: the build failed" >&2; failed=$((failed + 1)); exit 1; }

say "cluster (STATE_DIR $STATE_DIR, bridge $GUNGNIR_BRIDGE, pods $GUNGNIR_POD_PREFIX.0/24)"
mkdir -p "$STATE_DIR"
# A fresh cluster each run (a leftover one of this STATE_DIR is stopped first).
teardown >/dev/null 2>&1 || true
rm -f "$STATE_DIR/webhook-port"
if ! bash e2e/cluster/up.sh --dir "$STATE_DIR" >"$STATE_DIR/up.log" 2>&1; then
    echo "e2e-local: up.sh failed:"; tail -n 30 "$STATE_DIR/up.log"
    failed=$((failed + 1)); exit 1
fi
tail -n 3 "$STATE_DIR/up.log" | head -n 1
say "deploy"
if ! bash e2e/local/deploy.sh --dir "$STATE_DIR" --build "$E2E_BUILD"; then
    echo "e2e-local: deploy.sh failed; $STATE_DIR/logs/gungnir.log:"; tail -n 20 "$STATE_DIR/logs/gungnir.log"
    failed=$((failed + 1)); exit 1
fi

rm -rf "$logs"
mkdir -p "$logs"
summary=()
for s in "${suites[@]}"; do
    f=e2e/local/test_$s.sh
    if [ ! -f "$f" ]; then echo "e2e-local: no suite $s ($f)"; failed=$((failed + 1)); continue; fi
    if [ $(($(date +%s) - t_start)) -ge "$budget" ]; then
        echo "e2e-local: the budget of $budget s is spent: suite $s not run (counted as failed)"
        failed=$((failed + 1)); summary+=("$s: not run (budget spent)"); continue
    fi
    say "suite $s"
    t0=$(date +%s)
    timeout --kill-after=60 "$(timeout_of "$s")" bash "$f" 2>&1 | tee "$logs/$s.log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^[a-z_-]+: [0-9]+ passed, [0-9]+ failed' "$logs/$s.log" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(sed -E 's/^[^:]+: ([0-9]+) passed.*/\1/' <<<"$line")
        m=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
        passed=$((passed + p)); failed=$((failed + m))
        [ "$rc" -eq 0 ] || [ "$m" -gt 0 ] || { failed=$((failed + 1)); line="$line; but exit code $rc"; }
    else
        failed=$((failed + 1))
        line="$s: no summary (exit code $rc$([ "$rc" = 124 ] && echo ": timed out after $(timeout_of "$s") s"))"
    fi
    summary+=("$line [$(($(date +%s) - t0)) s]")
    # Every suite leaves the operator running for the next one.
    if ! curl -sf --max-time 2 "http://127.0.0.1:$(($(cat "$STATE_DIR/webhook-port") + 1))/readyz" >/dev/null; then
        echo "e2e-local: gungnir is not ready after suite $s; restarting it"
        bash e2e/local/deploy.sh --dir "$STATE_DIR" --build "$E2E_BUILD" >/dev/null 2>&1 || true
    fi
done
say "summary"
printf '  %s\n' "${summary[@]}"
