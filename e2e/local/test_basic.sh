#!/usr/bin/env bash
# e2e suite "basic": a 3-pod ValkeyCluster comes up with every owned object, one primary that the
# read-write Service selects, working replication, the webhook's defaults, its Events, and a
# controller that writes nothing once settled.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
suite_begin
make_ns basic || { suite_end; exit 1; }
ns=$E2E_NS
name=basic

say "kubectl apply a ValkeyCluster with only spec.replicas=3"
out=$(apply_vkc "$ns" "$name" 3 2>&1)
assert_contains "kubectl apply accepted" "valkeycluster.gungnir.dev/$name created" "$out"
expect_within "$name settles: Running, 3/3 ready, one primary, 2 replicas, generation observed" 180 \
    vkc_settled "$ns" "$name" 3

# ---- status
read -r phase prim ready gen obs readyc <<<"$(kj "$ns" "vkc/$name" '{.status.phase} {.status.primary} {.status.readyReplicas} {.metadata.generation} {.status.observedGeneration} {.status.conditions[?(@.type=="Ready")].status}')"
assert_eq "status.phase" Running "$phase"
assert_nonempty "status.primary" "$prim"
assert_eq "status.readyReplicas" 3 "$ready"
assert_eq "status.observedGeneration = metadata.generation" "$gen" "$obs"
assert_eq "condition Ready" True "$readyc"
assert_eq "status.selector" "app.kubernetes.io/name=valkey,app.kubernetes.io/instance=$name" \
    "$(kj "$ns" "vkc/$name" '{.status.selector}')"

# ---- the webhook's defaults (the object was applied with replicas only)
assert_eq "defaulted spec.image" "valkey/valkey:8.1" "$(kj "$ns" "vkc/$name" '{.spec.image}')"
assert_eq "defaulted spec.imagePullPolicy" IfNotPresent "$(kj "$ns" "vkc/$name" '{.spec.imagePullPolicy}')"
assert_eq "defaulted spec.auth.enabled" true "$(kj "$ns" "vkc/$name" '{.spec.auth.enabled}')"
assert_eq "defaulted spec.failover.enabled" true "$(kj "$ns" "vkc/$name" '{.spec.failover.enabled}')"
assert_eq "defaulted spec.persistence.mode" none "$(kj "$ns" "vkc/$name" '{.spec.persistence.mode}')"
assert_eq "defaulted spec.qosClass" BestEffort "$(kj "$ns" "vkc/$name" '{.spec.qosClass}')"

# ---- owned objects, each controlled by the ValkeyCluster
uid=$(kj "$ns" "vkc/$name" '{.metadata.uid}')
for obj in "secret/$name-auth" "configmap/$name-config" "service/$name" "service/$name-headless" \
    "service/$name-replicas" "statefulset/$name" "pdb/$name"; do
    owner=$(kj "$ns" "$obj" '{range .metadata.ownerReferences[?(@.controller==true)]}{.kind}/{.name}/{.uid}{end}')
    assert_eq "$obj exists, controlled by the ValkeyCluster" "ValkeyCluster/$name/$uid" "$owner"
done
assert_eq "headless Service has clusterIP None" None "$(kj "$ns" "service/$name-headless" '{.spec.clusterIP}')"
assert_eq "headless Service publishes not-ready addresses" true "$(kj "$ns" "service/$name-headless" '{.spec.publishNotReadyAddresses}')"
assert_eq "StatefulSet podManagementPolicy" Parallel "$(kj "$ns" "statefulset/$name" '{.spec.podManagementPolicy}')"
assert_eq "StatefulSet spec.replicas" 3 "$(kj "$ns" "statefulset/$name" '{.spec.replicas}')"
assert_eq "PDB maxUnavailable" 1 "$(kj "$ns" "pdb/$name" '{.spec.maxUnavailable}')"
assert_nonempty "Secret $name-auth holds a password" "$( [ -n "$(vpassword "$ns" "$name")" ] && echo yes)"

# ---- one primary, and the read-write Service selects exactly it
primaries=$(pods_with_role "$ns" "$name" primary)
assert_eq "pods labelled primary" 1 "$(wc -w <<<"$primaries")"
assert_eq "the labelled primary is status.primary" "$prim" "$primaries"
assert_eq "the labelled primary answers ROLE master" master "$(role_of "$ns" "$name" "$prim")"
assert_eq "Service $name selects role=primary" primary "$(kj "$ns" "service/$name" '{.spec.selector.gungnir\.dev/role}')"
assert_eq "Service $name-replicas selects role=replica" replica "$(kj "$ns" "service/$name-replicas" '{.spec.selector.gungnir\.dev/role}')"
sel=$(kc -n "$ns" get service "$name" -o go-template='{{range $k, $v := .spec.selector}}{{$k}}={{$v}},{{end}}' 2>/dev/null)
assert_eq "pods the Service's selector picks" "$prim" "$(kc -n "$ns" get pods -l "${sel%,}" -o 'jsonpath={.items[*].metadata.name}')"
prim_ip=$(pod_ip "$ns" "$prim")
endpoints_are() { # svc expected-ips (sorted, space separated)
    local got
    got=$(kj "$ns" "endpoints/$1" '{.subsets[*].addresses[*].ip}' | tr ' ' '\n' | sort | xargs)
    echo "endpoints of $1: '$got' (not ready: '$(kj "$ns" "endpoints/$1" '{.subsets[*].notReadyAddresses[*].ip}')')"
    [ "$got" = "$2" ]
}
expect_within "Endpoints of Service $name are exactly the primary's IP $prim_ip" 60 endpoints_are "$name" "$prim_ip"
replica_ips=$(for p in $(pods_with_role "$ns" "$name" replica); do pod_ip "$ns" "$p"; echo; done | sort | xargs)
expect_within "Endpoints of Service $name-replicas are the replicas' IPs" 60 endpoints_are "$name-replicas" "$replica_ips"

# ---- replication: a write on the primary is read on every replica
expect_within "every replica follows the primary with its link up" 60 replicas_attached "$ns" "$name"
stamp="basic-$(date +%s%N)"
assert_eq "SET on the primary" OK "$(vcli "$ns" "$name" "$prim" SET e2e:basic "$stamp")"
assert_eq "WAIT 2 on the primary (both replicas acknowledged)" 2 "$(vcli "$ns" "$name" "$prim" WAIT 2 5000)"
for p in $(pods_with_role "$ns" "$name" replica); do
    check "replica $p reads the write" read_on "$ns" "$name" "$p" e2e:basic "$stamp"
    out=$(vcli "$ns" "$name" "$p" SET e2e:other x 2>&1)
    assert_contains "replica $p refuses writes" READONLY "$out"
done
out=$(REDISCLI_AUTH=wrong-password timeout 10 redis-cli --no-auth-warning -h "$prim_ip" PING 2>&1)
[ "$E2E_CLI_MODE" = direct ] && assert_contains "a wrong password is refused" WRONGPASS "$out"

# ---- Events
expect_within "Event Created" 30 has_event "$ns" "$name" Created
expect_within "Event PrimaryElected" 30 has_event "$ns" "$name" PrimaryElected

# ---- a settled controller writes nothing while it keeps reconciling
murl=$(metrics_url)
writes_stable() { # the write counter does not move for 6 s
    local a b
    a=$(metric "$murl" gungnir_controller_api_writes_total)
    sleep 6
    b=$(metric "$murl" gungnir_controller_api_writes_total)
    echo "api_writes_total $a -> $b"
    [ -n "$a" ] && [ "$a" = "$b" ]
}
if wait_for "the write counter to settle" 90 writes_stable; then
    w0=$(metric "$murl" gungnir_controller_api_writes_total)
    r0=$(metric "$murl" gungnir_controller_reconciles_total)
    say "watching $murl for 40 s (writes $w0, reconciles $r0)"
    sleep 40
    w1=$(metric "$murl" gungnir_controller_api_writes_total)
    r1=$(metric "$murl" gungnir_controller_reconciles_total)
    assert_eq "gungnir_controller_api_writes_total unchanged over 40 s (no-op reconciles write nothing)" "$w0" "$w1"
    if [ -n "$r0" ] && [ -n "$r1" ] && [ "$r1" -gt "$r0" ]; then
        pass "gungnir_controller_reconciles_total moved over 40 s ($r0 -> $r1)"
    else
        fail "gungnir_controller_reconciles_total: expected it to grow over 40 s, got $r0 -> $r1"
    fi
else
    fail "the write counter did not settle within 90 s after the cluster was Running ($WAIT_LAST)"
fi
assert_eq "still settled afterwards" ok "$(vkc_settled "$ns" "$name" 3 >/dev/null && echo ok)"

say "cleanup: deleting the ValkeyCluster (garbage collection takes what it owned)"
kc -n "$ns" delete vkc "$name" --wait=true --timeout=60s >/dev/null
owned_gone() {
    local left
    left=$(kc -n "$ns" get statefulset,service,configmap,secret,pdb -l "app.kubernetes.io/instance=$name" -o name 2>/dev/null)
    echo "left: $left"
    [ -z "$left" ]
}
expect_within "owned objects garbage-collected after the ValkeyCluster is deleted" 90 owned_gone
suite_end
