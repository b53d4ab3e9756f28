#!/usr/bin/env bash
# e2e suite "scale": 3 -> 5 with `kubectl scale` (the scale subresource) and 5 -> 3 with
# `kubectl patch`; then a scale-down past the primary (ordinal 4, made the first primary by its
# failover priority): the primary moves first (Event Switchover), never two pods labelled
# primary (polled every 100 ms and replayed from a watch), no acknowledged write lost.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
suite_begin
make_ns scale || { suite_end; exit 1; }
ns=$E2E_NS
name=grow

# ---- 3 -> 5 -> 3
apply_vkc "$ns" "$name" 3 >/dev/null
expect_within "$name settles with 3 pods" 180 vkc_settled "$ns" "$name" 3 ||
    { fail "the cluster never settled: the rest of the suite is skipped"; suite_end; exit 1; }
prim=$(kj "$ns" "vkc/$name" '{.status.primary}')
assert_eq "SET before scaling" OK "$(vcli "$ns" "$name" "$prim" SET e2e:scale before)"
assert_eq "WAIT 2 before scaling" 2 "$(vcli "$ns" "$name" "$prim" WAIT 2 5000)"

out=$(kc -n "$ns" scale "vkc/$name" --replicas=5 2>&1)
assert_contains "kubectl scale vkc/$name --replicas=5 (scale subresource)" "scaled" "$out"
expect_within "$name settles with 5 pods" 180 vkc_settled "$ns" "$name" 5
assert_eq "StatefulSet has 5 replicas" 5 "$(kj "$ns" "statefulset/$name" '{.spec.replicas}')"
assert_eq "status.replicas (the scale subresource's statusReplicasPath)" 5 "$(kj "$ns" "vkc/$name" '{.status.replicas}')"
assert_eq "primary unchanged by the scale-up" "$prim" "$(kj "$ns" "vkc/$name" '{.status.primary}')"
expect_within "all 4 replicas attached to the primary, links up" 90 replicas_attached "$ns" "$name"
for p in "$name-3" "$name-4"; do
    check "new pod $p reads the data written before the scale" read_on "$ns" "$name" "$p" e2e:scale before
done
assert_eq "SET after scaling up" OK "$(vcli "$ns" "$name" "$prim" SET e2e:scale after)"
assert_eq "WAIT 4 after scaling up" 4 "$(vcli "$ns" "$name" "$prim" WAIT 4 5000)"
expect_within "Event Scaled" 30 has_event "$ns" "$name" Scaled

out=$(kc -n "$ns" patch vkc "$name" --type merge -p '{"spec":{"replicas":3}}' 2>&1)
assert_contains "kubectl patch spec.replicas=3" "patched" "$out"
expect_within "$name settles back to 3 pods" 180 vkc_settled "$ns" "$name" 3
assert_eq "StatefulSet back to 3 replicas" 3 "$(kj "$ns" "statefulset/$name" '{.spec.replicas}')"
assert_eq "primary unchanged (its ordinal is below 3)" "$prim" "$(kj "$ns" "vkc/$name" '{.status.primary}')"
expect_within "both replicas still attached" 60 replicas_attached "$ns" "$name"
for p in $(pods_with_role "$ns" "$name" replica); do
    check "replica $p still reads the data" read_on "$ns" "$name" "$p" e2e:scale after
done
kc -n "$ns" delete vkc "$name" --wait=false >/dev/null

# ---- a scale-down past the primary
name=move
say "a 5-pod cluster whose pod 4 has the highest failover priority, so it is the first primary"
apply_vkc "$ns" "$name" 5 "failover:" "  priorities:" "  - {podOrdinal: 4, priority: 1000}" >/dev/null
expect_within "$name settles with 5 pods" 180 vkc_settled "$ns" "$name" 5
assert_eq "the first primary is the highest-priority pod" "$name-4" "$(kj "$ns" "vkc/$name" '{.status.primary}')"
expect_within "all 4 replicas attached" 90 replicas_attached "$ns" "$name"
old="$name-4"

say "writing 300 keys, each acknowledged by a replica (WAIT 1)"
if [ "$E2E_CLI_MODE" = exec ]; then
    # no route from here to the pod: one call per command
    acks=0
    for i in $(seq 1 300); do
        vcli "$ns" "$name" "$old" SET "e2e:k$i" "v$i" >/dev/null
        [ "$(vcli "$ns" "$name" "$old" WAIT 1 2000)" -ge 1 ] 2>/dev/null && acks=$((acks + 1))
    done
else
    # pipelined; each WAIT answers how many replicas acknowledged
    acks=$(for i in $(seq 1 300); do printf 'SET e2e:k%d v%d\nWAIT 1 2000\n' "$i" "$i"; done |
        REDISCLI_AUTH=$(vpassword "$ns" "$name") timeout 60 redis-cli --no-auth-warning -h "$(pod_ip "$ns" "$old")" 2>&1 |
        grep -cE '^[1-9][0-9]*$')
fi
assert_eq "writes acknowledged by at least one replica" 300 "$acks"

start_proxy || fail "kubectl proxy did not start"
guard=/tmp/e2e-guard-$$
primary_guard_start "$ns" "$name" "$guard"
sleep 1
out=$(kc -n "$ns" patch vkc "$name" --type merge -p '{"spec":{"replicas":3,"failover":{"priorities":[]}}}' 2>&1)
assert_contains "kubectl patch replicas=3 (dropping the priority of ordinal 4)" "patched" "$out"
expect_within "Event Switchover" 120 has_event "$ns" "$name" Switchover
expect_within "$name settles with 3 pods" 180 vkc_settled "$ns" "$name" 3
sleep 2
primary_guard_stop "$guard" >"$guard.out"
rc=$?
out=$(cat "$guard.out")
rm -f "$guard.out"
if [ $rc -eq 0 ]; then pass "never two pods labelled primary during the scale-down ($(head -n 1 <<<"$out"))"; else
    fail "two pods labelled primary at some moment:"; sed 's/^/       | /' <<<"$out"; fi
rm -rf "$guard"
new=$(kj "$ns" "vkc/$name" '{.status.primary}')
assert_ne "the primary moved off the removed ordinal" "$old" "$new"
case $new in "$name-0" | "$name-1" | "$name-2") pass "the new primary $new survives the scale-down" ;; *) fail "new primary: expected one of $name-0..2, got '$new'" ;; esac
assert_eq "the new primary answers ROLE master" master "$(role_of "$ns" "$name" "$new")"
expect_within "both replicas attached to the new primary" 90 replicas_attached "$ns" "$name"
msg=$(kc -n "$ns" get events --field-selector "involvedObject.name=$name,reason=Switchover" -o 'jsonpath={.items[*].message}')
assert_contains "the Switchover Event names the old and new primary" "from $old to $new" "$msg"
all_keys_on() { # pod: every acknowledged key is there
    local n
    n=$(for i in $(seq 1 300); do echo "GET e2e:k$i"; done |
        if [ "$E2E_CLI_MODE" = exec ]; then
            kubectl -n "$ns" exec -i "$1" -c valkey -- env REDISCLI_AUTH="$(vpassword "$ns" "$name")" valkey-cli 2>/dev/null
        else
            REDISCLI_AUTH=$(vpassword "$ns" "$name") timeout 30 redis-cli --no-auth-warning -h "$(pod_ip "$ns" "$1")"
        fi | grep -cE '^v[0-9]+$')
    echo "$1 has $n of 300 acknowledged keys"
    [ "$n" = 300 ]
}
check "no acknowledged write lost: all 300 keys on the new primary $new" all_keys_on "$new"
for p in $(pods_with_role "$ns" "$name" replica); do
    expect_within "all 300 keys on replica $p" 30 all_keys_on "$p"
done
assert_eq "SET on the new primary" OK "$(vcli "$ns" "$name" "$new" SET e2e:after-move yes)"
assert_eq "WAIT 2 on the new primary" 2 "$(vcli "$ns" "$name" "$new" WAIT 2 5000)"
suite_end
