#!/usr/bin/env bash
# e2e suite "restart-operator": gungnir is killed with SIGKILL while a new ValkeyCluster is being
# created (right after kubectl apply, once its first owned object exists), then started again:
# the cluster converges to Running with exactly one primary.
# Local: kills the gungnir that deploy.sh recorded in STATE_DIR/pids and runs deploy.sh again.
set -uo pipefail
export SUITE=restart-operator
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
suite_begin
make_ns restart-op || { suite_end; exit 1; }
ns=$E2E_NS
name=phoenix
start_proxy || fail "kubectl proxy did not start"

apply_vkc "$ns" "$name" 3 >/dev/null
# Kill as soon as the controller has begun: its first write (the auth Secret) is visible.
for _ in $(seq 1 200); do
    curl -sf --max-time 1 -o /dev/null "$E2E_PROXY/api/v1/namespaces/$ns/secrets/$name-auth" && break
    sleep 0.05
done
operator_kill9
say "gungnir killed with SIGKILL; owned objects right after:"
kc -n "$ns" get statefulset,service,configmap,secret,pdb,pods -l "app.kubernetes.io/instance=$name" -o name 2>/dev/null | sed 's/^/       | /'
if [ "$E2E_PLATFORM" = local ]; then
    pid=$(operator_pid)
    dead() { ! kill -0 "$pid" 2>/dev/null; }
    expect_within "gungnir (pid $pid) is gone" 10 dead
    sleep 3
    assert_eq "nothing settled the cluster while the operator was down" "" "$(kj "$ns" "vkc/$name" '{.status.phase}' | grep -x Running)"
fi

say "starting gungnir again"
out=$(operator_start 2>&1)
rc=$?
[ $rc -eq 0 ] && pass "gungnir restarted" || fail "gungnir did not restart: $out"
expect_within "$name converges: Running, 3/3, exactly one primary" 180 vkc_settled "$ns" "$name" 3
expect_within "every replica follows the primary" 90 replicas_attached "$ns" "$name"
masters=0
for p in $(pods_of "$ns" "$name"); do [ "$(role_of "$ns" "$name" "$p")" = master ] && masters=$((masters + 1)); done
assert_eq "servers answering ROLE master" 1 "$masters"
n=$(event_reasons "$ns" "$name" | grep -cx PrimaryElected)
if [ "$n" -le 1 ]; then pass "at most one PrimaryElected Event ($n)"; else fail "PrimaryElected Events: expected at most 1, got $n"; fi
prim=$(kj "$ns" "vkc/$name" '{.status.primary}')
assert_eq "SET on the primary" OK "$(vcli "$ns" "$name" "$prim" SET e2e:phoenix 1)"
assert_eq "WAIT 2" 2 "$(vcli "$ns" "$name" "$prim" WAIT 2 5000)"

say "kill -9 again in the middle of a scale 3 -> 5, and restart"
kc -n "$ns" scale "vkc/$name" --replicas=5 >/dev/null
sts5() { [ "$(curl -sf --max-time 2 "$E2E_PROXY/apis/apps/v1/namespaces/$ns/statefulsets/$name" | jq -r .spec.replicas)" = 5 ]; }
wait_for "the StatefulSet to be scaled" 30 sts5 || true
operator_kill9
sleep 2
out=$(operator_start 2>&1) || fail "gungnir did not restart: $out"
expect_within "$name converges with 5 pods and one primary" 180 vkc_settled "$ns" "$name" 5
expect_within "every replica follows the primary" 90 replicas_attached "$ns" "$name"
assert_eq "primary unchanged by the restarts" "$prim" "$(kj "$ns" "vkc/$name" '{.status.primary}')"
suite_end
