#!/usr/bin/env bash
# e2e suite "owned-recreate": owned objects deleted by hand come back (the ConfigMap, the
# read-write Service, the StatefulSet deleted with --cascade=orphan, one at a time), and a
# drifted field (the read-write Service's selector) is put back.
set -uo pipefail
export SUITE=owned-recreate
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
suite_begin
make_ns owned || { suite_end; exit 1; }
ns=$E2E_NS
name=keeper

apply_vkc "$ns" "$name" 3 >/dev/null
expect_within "$name settles with 3 pods" 180 vkc_settled "$ns" "$name" 3 ||
    { fail "the cluster never settled: the rest of the suite is skipped"; suite_end; exit 1; }
prim=$(kj "$ns" "vkc/$name" '{.status.primary}')
vuid=$(kj "$ns" "vkc/$name" '{.metadata.uid}')
pod_uids() { kc -n "$ns" get pods -l "app.kubernetes.io/instance=$name" -o 'jsonpath={range .items[*]}{.metadata.name}={.metadata.uid} {end}' 2>/dev/null; }
uids_before=$(pod_uids)

# recreated KIND/NAME OLDUID: exists again, with a new uid, controlled by the ValkeyCluster
recreated() {
    local got
    got=$(kj "$ns" "$1" '{.metadata.uid} {range .metadata.ownerReferences[?(@.controller==true)]}{.uid}{end}')
    echo "$1: uid and owner: '$got' (old uid $2)"
    read -r u o <<<"$got"
    [ -n "$u" ] && [ "$u" != "$2" ] && [ "$o" = "$vuid" ]
}
for obj in "configmap/$name-config" "service/$name"; do
    old=$(kj "$ns" "$obj" '{.metadata.uid}')
    out=$(kc -n "$ns" delete "$obj" 2>&1)
    assert_contains "kubectl delete $obj" deleted "$out"
    expect_within "$obj comes back, owned by the ValkeyCluster" 90 recreated "$obj" "$old"
done
assert_eq "the recreated Service selects role=primary" primary "$(kj "$ns" "service/$name" '{.spec.selector.gungnir\.dev/role}')"
endpoints_primary() {
    local got want
    got=$(kj "$ns" "endpoints/$name" '{.subsets[*].addresses[*].ip}')
    want=$(pod_ip "$ns" "$(pods_with_role "$ns" "$name" primary)")
    echo "endpoints '$got', primary IP '$want'"
    [ -n "$want" ] && [ "$got" = "$want" ]
}
expect_within "its Endpoints are the primary's IP again" 60 endpoints_primary
assert_nonempty "the ConfigMap holds valkey.conf again" "$(kj "$ns" "configmap/$name-config" '{.data}' | head -c 60)"

old=$(kj "$ns" "statefulset/$name" '{.metadata.uid}')
out=$(kc -n "$ns" delete "statefulset/$name" --cascade=orphan 2>&1)
assert_contains "kubectl delete statefulset/$name --cascade=orphan" deleted "$out"
expect_within "statefulset/$name comes back, owned by the ValkeyCluster" 90 recreated "statefulset/$name" "$old"
adopted() {
    local want got
    want=$(kj "$ns" "statefulset/$name" '{.metadata.uid}')
    got=$(kc -n "$ns" get pods -l "app.kubernetes.io/instance=$name" -o 'jsonpath={range .items[*]}{.metadata.ownerReferences[0].uid}{"\n"}{end}' | sort -u)
    echo "pod owners: $got (StatefulSet $want)"
    [ "$got" = "$want" ]
}
expect_within "the new StatefulSet adopts the orphaned pods" 90 adopted
assert_eq "the pods were not replaced (same uids)" "$uids_before" "$(pod_uids)"
expect_within "$name still settled with 3 pods" 90 vkc_settled "$ns" "$name" 3
assert_eq "primary unchanged" "$prim" "$(kj "$ns" "vkc/$name" '{.status.primary}')"

out=$(kc -n "$ns" patch service "$name" --type merge -p '{"spec":{"selector":{"gungnir.dev/role":"replica"}}}' 2>&1)
assert_contains "kubectl patch the Service's selector to role=replica (drift)" patched "$out"
selector_back() {
    local got
    got=$(kj "$ns" "service/$name" '{.spec.selector.gungnir\.dev/role}')
    echo "selector gungnir.dev/role=$got"
    [ "$got" = primary ]
}
expect_within "the Service's selector is put back to role=primary" 90 selector_back
expect_within "its Endpoints are the primary's IP" 60 endpoints_primary

out=$(kc -n "$ns" patch configmap "$name-config" --type merge -p '{"data":{"valkey.conf":"# drifted\n"}}' 2>&1)
conf_back() { ! kj "$ns" "configmap/$name-config" '{.data.valkey\.conf}' | grep -qx '# drifted'; }
if grep -q patched <<<"$out"; then
    expect_within "a drifted valkey.conf in the ConfigMap is put back" 90 conf_back
else
    say "could not patch the ConfigMap's valkey.conf key ($out); skipped"
fi
suite_end
