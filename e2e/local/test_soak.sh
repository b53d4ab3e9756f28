#!/usr/bin/env bash
# e2e suite "soak": a short run (SOAK_SECONDS, default 90) of the soak of bench/soak.sh (the same
# code: bench/soak_lib.sh) on run.sh's cluster: two 3-pod ValkeyClusters under a steady
# acknowledged write load (SET + WAIT 1 500), random faults one at a time (kill / SIGSTOP /
# partition the primary, kill -9 gungnir, restart kube-apiserver, restart etcd, switchover), each
# followed by its recovery. Checks: every fault recovered within SOAK_RECOVER_S (default 120 s),
# no acknowledged write lost, the watchers never saw two pods labelled primary or the epoch going
# back (two ready IPs in an Endpoints, which kube-controller-manager writes, are only reported), and no gungnir process grew its VmRSS by more than
# SOAK_RSS_BOUND_KB (default 30720 kB) between its first and last sample.
set -uo pipefail
# shellcheck source=failover_lib.sh
. "$(dirname "$0")/failover_lib.sh"
# shellcheck source=fault_scenarios_lib.sh
. "$(dirname "$0")/fault_scenarios_lib.sh"
# shellcheck source=../../bench/soak_lib.sh
. "$(dirname "$0")/../../bench/soak_lib.sh"
export SUITE=soak
suite_begin
if [ "$E2E_PLATFORM" != local ]; then say "local only; skipped"; suite_end; exit; fi
SOAK_RECOVER_S=${SOAK_RECOVER_S:-120}
if soak_run "${SOAK_SECONDS:-90}"; then
    total=0
    for k in "${!SOAK_FAULTS[@]}"; do total=$((total + SOAK_FAULTS[$k])); done
    assert_ge "faults injected" 1 "$total"
    assert_eq "faults not recovered within $SOAK_RECOVER_S s" 0 "$SOAK_UNRECOVERED"
    assert_ge "acknowledged writes" 100 "$SOAK_ACKED"
    assert_eq "acknowledged writes lost" 0 "$SOAK_LOST"
    assert_eq "watcher violations (two pods labelled primary, the epoch going back)" 0 "$SOAK_VIOLATIONS"
    [ "$SOAK_EP_VIOLATIONS" = 0 ] ||
        say "note: $SOAK_EP_VIOLATIONS samples of an Endpoints with two ready IPs (kube-controller-manager's cache lagging the labels; see bench/soak_lib.sh)"
    if [ "$SOAK_RSS_MAX_GROWTH" -le "${SOAK_RSS_BOUND_KB:-30720}" ]; then
        pass "gungnir's VmRSS growth within one process: $SOAK_RSS_MAX_GROWTH kB <= ${SOAK_RSS_BOUND_KB:-30720} kB"
    else
        fail "gungnir's VmRSS grew by $SOAK_RSS_MAX_GROWTH kB in one process (bound ${SOAK_RSS_BOUND_KB:-30720} kB)"
    fi
fi
suite_end
