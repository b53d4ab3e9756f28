#!/usr/bin/env bash
# e2e suite "pdb": a 3-pod ValkeyCluster has its PodDisruptionBudget <name>; with
# spec.podDisruptionBudget.enabled false the operator deletes it (with a 'Deleted' Event), with
# true again it is back, owned by the ValkeyCluster.
set -uo pipefail
export SUITE=pdb
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
suite_begin
make_ns pdb || { suite_end; exit 1; }
ns=$E2E_NS
name=budget

out=$(apply_vkc "$ns" "$name" 3 2>&1)
assert_contains "kubectl apply accepted" "valkeycluster.gungnir.dev/$name created" "$out"
on_cleanup "kc -n $ns delete vkc $name --wait=false >/dev/null 2>&1"
expect_within "$name settles: Running, 3/3 ready, one primary" 180 vkc_settled "$ns" "$name" 3 ||
    { fail "the cluster never settled: the rest of the suite is skipped"; suite_end; exit 1; }
vuid=$(kj "$ns" "vkc/$name" '{.metadata.uid}')

# pdb_state: "<uid> <owner uid> <maxUnavailable>", empty when there is no PDB.
pdb_state() { kj "$ns" "pdb/$name" '{.metadata.uid} {range .metadata.ownerReferences[?(@.controller==true)]}{.uid}{end} {.spec.maxUnavailable}'; }
pdb_owned() {
    local got
    got=$(pdb_state)
    echo "pdb/$name: '$got' (want owner $vuid, maxUnavailable 1)"
    read -r _ o m <<<"$got"
    [ "$o" = "$vuid" ] && [ "$m" = 1 ]
}
pdb_gone() {
    local out
    out=$(kc -n "$ns" get pdb "$name" -o name 2>&1)
    echo "kubectl get pdb $name: $out"
    grep -q NotFound <<<"$out"
}
check "PDB $name exists, maxUnavailable 1, controlled by the ValkeyCluster" pdb_owned
first=$(pdb_state | awk '{print $1}')

out=$(kc -n "$ns" patch vkc "$name" --type merge -p '{"spec":{"podDisruptionBudget":{"enabled":false}}}' 2>&1)
assert_contains "kubectl patch podDisruptionBudget.enabled=false" patched "$out"
expect_within "PDB $name is deleted" 60 pdb_gone
expect_within "Event Deleted" 30 has_event "$ns" "$name" Deleted
msg=$(kc -n "$ns" get events --field-selector "involvedObject.name=$name,involvedObject.kind=ValkeyCluster,reason=Deleted" \
    -o 'jsonpath={.items[*].message}' 2>/dev/null)
assert_contains "the Deleted Event names the PodDisruptionBudget" "PodDisruptionBudget" "$msg"
stays_gone() { ! kc -n "$ns" get pdb "$name" -o name >/dev/null 2>&1; }
stays_for "PDB $name stays deleted" 10 stays_gone
assert_eq "the cluster is still settled" ok "$(vkc_settled "$ns" "$name" 3 >/dev/null && echo ok)"

out=$(kc -n "$ns" patch vkc "$name" --type merge -p '{"spec":{"podDisruptionBudget":{"enabled":true}}}' 2>&1)
assert_contains "kubectl patch podDisruptionBudget.enabled=true" patched "$out"
expect_within "PDB $name is back, maxUnavailable 1, controlled by the ValkeyCluster" 60 pdb_owned
assert_ne "it is a new object" "$first" "$(pdb_state | awk '{print $1}')"

say "cleanup: deleting the ValkeyCluster"
kc -n "$ns" delete vkc "$name" --wait=true --timeout=60s >/dev/null
expect_within "the PDB goes with the ValkeyCluster (garbage collection)" 90 pdb_gone
suite_end
