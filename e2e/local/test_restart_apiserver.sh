#!/usr/bin/env bash
# e2e suite "restart-apiserver": kube-apiserver is stopped and started again under a running
# gungnir; its informers re-list and re-watch, so a change made afterwards (scale 3 -> 4)
# converges. Local: restarts the apiserver from its recorded command line (lib.sh
# apiserver_restart); kind: stops its container (the kubelet starts it again).
set -uo pipefail
export SUITE=restart-apiserver
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
suite_begin
make_ns restart-api || { suite_end; exit 1; }
ns=$E2E_NS
name=steady

apply_vkc "$ns" "$name" 3 >/dev/null
expect_within "$name settles with 3 pods" 180 vkc_settled "$ns" "$name" 3 ||
    { fail "the cluster never settled: the rest of the suite is skipped"; suite_end; exit 1; }
prim=$(kj "$ns" "vkc/$name" '{.status.primary}')
opid=$(operator_pid)

out=$(apiserver_restart 2>&1)
rc=$?
[ $rc -eq 0 ] && pass "kube-apiserver restarted: $out" || fail "kube-apiserver restart: $out"
expect_within "kube-apiserver /readyz ok again" 90 apiserver_ready
if [ "$E2E_PLATFORM" = local ]; then
    alive() { kill -0 "$opid" 2>/dev/null; }
    check "gungnir (pid $opid) survived the API server restart" alive
    check "the node agent survived" kill -0 "$(awk '$1 == "gungnir-nodeagent" {print $2}' "$STATE_DIR/pids" | tail -n 1)"
fi

out=$(kc -n "$ns" scale "vkc/$name" --replicas=4 2>&1)
assert_contains "kubectl scale --replicas=4 after the restart" scaled "$out"
expect_within "$name converges with 4 pods (the controller watches again)" 180 vkc_settled "$ns" "$name" 4
expect_within "the new replica follows the primary" 90 replicas_attached "$ns" "$name"
assert_eq "primary unchanged" "$prim" "$(kj "$ns" "vkc/$name" '{.status.primary}')"

say "a second restart, then a change to an owned object"
out=$(apiserver_restart 2>&1) || fail "kube-apiserver restart: $out"
expect_within "kube-apiserver /readyz ok again" 90 apiserver_ready
kc -n "$ns" delete configmap "$name-config" >/dev/null 2>&1
cm_back() { kj "$ns" "configmap/$name-config" '{.metadata.name}' | grep -qx "$name-config"; }
expect_within "ConfigMap $name-config deleted after the restart comes back" 120 cm_back
if [ "$E2E_PLATFORM" = local ]; then
    n=$(grep -c '"level":"error"' "$STATE_DIR/logs/gungnir.log" 2>/dev/null)
    say "gungnir.log has $n error lines (informational)"
fi
suite_end
