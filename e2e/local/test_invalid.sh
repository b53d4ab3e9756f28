#!/usr/bin/env bash
# e2e suite "invalid": invalid ValkeyClusters are refused through the real API server with the
# webhook's messages (each file of manifests/samples/invalid/ carries its expected message in its
# first line); spec.config keys the operator owns (replica-read-only, protected-mode) are refused
# with their field error; an UPDATE that shrinks storage is refused; kubectl scale to 0 and 101
# is refused.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
suite_begin
make_ns invalid || { suite_end; exit 1; }
ns=$E2E_NS
webhook='admission webhook "vvalkeycluster.gungnir.dev" denied the request: '

start_proxy || fail "kubectl proxy did not start"
for f in "$E2E_ROOT"/manifests/samples/invalid/*.yaml; do
    b=$(basename "$f")
    want=$(head -n 1 "$f" | sed 's/^# //')
    obj=$(sed -n 's/^ValkeyCluster.gungnir.dev "\([^"]*\)".*/\1/p' <<<"$want")
    # kubectl apply: refused. kubectl renders an Invalid status from its causes, as
    # 'The ValkeyCluster "x" is invalid: <field>: <message>' (a list with '* ' for several).
    out=$(kc -n "$ns" apply -f "$f" 2>&1)
    rc=$?
    if [ $rc -ne 0 ]; then pass "$b: kubectl apply refused (exit $rc)"; else fail "$b: kubectl apply succeeded: $out"; fi
    # The same object POSTed to the API server: the Status it answers carries the webhook's
    # message verbatim, after the API server's 'admission webhook "..." denied the request: '.
    status=$(kc -n "$ns" create --dry-run=client -o json -f "$f" |
        curl -s --max-time 20 -X POST -H 'Content-Type: application/json' --data-binary @- \
            "$E2E_PROXY/apis/gungnir.dev/v1alpha1/namespaces/$ns/valkeyclusters")
    assert_eq "$b: the API server's answer carries the webhook's message" "$webhook$want" "$(jq -r .message <<<"$status")"
    assert_eq "$b: status code 422 (Invalid)" "422 Invalid" "$(jq -r '"\(.code) \(.reason)"' <<<"$status")"
    while IFS= read -r cause; do
        assert_contains "$b: kubectl shows the cause '$cause'" "$cause" "$out"
    done < <(jq -r '.details.causes[]? | "\(.field): \(.message)"' <<<"$status")
    assert_contains "$b: kubectl names the object" "The ValkeyCluster \"$obj\" is invalid" "$out"
    assert_eq "$b: nothing was stored" "" "$(kc -n "$ns" get vkc "$obj" -o name 2>/dev/null)"
done

# valkey.conf keys the operator sets are refused in spec.config (they used to get through and win).
for key in replica-read-only protected-mode; do
    obj=conf-$key
    out=$(vkc_yaml "$ns" "$obj" 3 "config:" "  $key: \"no\"" | kc apply -f - 2>&1)
    rc=$?
    if [ $rc -ne 0 ]; then pass "spec.config {$key: no}: kubectl apply refused (exit $rc)"; else fail "spec.config {$key: no} was accepted: $out"; fi
    assert_contains "spec.config {$key: no}: the field error" "spec.config[$key]: Forbidden: set by the operator" "$out"
    status=$(vkc_yaml "$ns" "$obj" 3 "config:" "  $key: \"no\"" | kc create --dry-run=client -o json -f - |
        curl -s --max-time 20 -X POST -H 'Content-Type: application/json' --data-binary @- \
            "$E2E_PROXY/apis/gungnir.dev/v1alpha1/namespaces/$ns/valkeyclusters")
    assert_eq "spec.config {$key: no}: the API server answers the webhook's refusal (422)" \
        "422 ${webhook}ValkeyCluster.gungnir.dev \"$obj\" is invalid: spec.config[$key]: Forbidden: set by the operator" \
        "$(jq -r '"\(.code) \(.message)"' <<<"$status")"
    assert_eq "spec.config {$key: no}: nothing was stored" "" "$(kc -n "$ns" get vkc "$obj" -o name 2>/dev/null)"
done

# A valid object passes the same path (server-side dry run through both webhooks).
out=$(kc -n "$ns" apply --dry-run=server -f "$E2E_ROOT/manifests/samples/gungnir_v1alpha1_valkeycluster_minimal.yaml" 2>&1)
assert_contains "the minimal sample passes a server-side dry run" "(server dry run)" "$out"
out=$(vkc_yaml "$ns" latest 1 "image: valkey/valkey:latest" | kc apply --dry-run=server -f - 2>&1)
assert_contains "an image tagged latest is admitted with a warning" "Warning:" "$out"

# A name too long for the pods' labels.
long=$(printf 'a%.0s' $(seq 1 53))
out=$(vkc_yaml "$ns" "$long" 1 | kc apply -f - 2>&1)
assert_contains "a 53-character name is refused" "metadata.name" "$out"

# UPDATE rules: storage may grow, never shrink.
name=disk
out=$(vkc_yaml "$ns" "$name" 1 "storage:" "  size: 2Gi" | kc apply -f - 2>&1)
assert_contains "a cluster with storage.size 2Gi is created" "created" "$out"
out=$(kc -n "$ns" patch vkc "$name" --type merge -p '{"spec":{"storage":{"size":"1Gi"}}}' 2>&1)
rc=$?
[ $rc -ne 0 ] && pass "shrinking storage.size 2Gi -> 1Gi is refused (exit $rc)" || fail "shrinking storage.size was accepted: $out"
assert_contains "its message says it is forbidden" "is forbidden" "$out"
assert_contains "the refusal comes from the webhook" 'admission webhook "vvalkeycluster.gungnir.dev" denied' "$out"
assert_eq "storage.size still 2Gi" 2Gi "$(kj "$ns" "vkc/$name" '{.spec.storage.size}')"
out=$(kc -n "$ns" patch vkc "$name" --type merge -p '{"spec":{"storage":{"size":"3Gi"}}}' 2>&1)
assert_contains "growing storage.size 2Gi -> 3Gi is accepted" "patched" "$out"

# The scale subresource follows the replica rules.
name=sized
vkc_yaml "$ns" "$name" 3 | kc apply -f - >/dev/null
for n in 0 101; do
    out=$(kc -n "$ns" scale "vkc/$name" --replicas=$n 2>&1)
    rc=$?
    [ $rc -ne 0 ] && pass "kubectl scale --replicas=$n is refused (exit $rc)" || fail "kubectl scale --replicas=$n was accepted: $out"
    assert_contains "kubectl scale --replicas=$n: the message names spec.replicas" "spec.replicas" "$out"
    say "  message: $out"
    out=$(kc -n "$ns" patch vkc "$name" --type merge -p "{\"spec\":{\"replicas\":$n}}" 2>&1)
    rc=$?
    [ $rc -ne 0 ] && pass "kubectl patch spec.replicas=$n is refused (exit $rc)" || fail "kubectl patch spec.replicas=$n was accepted: $out"
    assert_eq "spec.replicas still 3" 3 "$(kj "$ns" "vkc/$name" '{.spec.replicas}')"
done
out=$(kc -n "$ns" scale "vkc/$name" --replicas=4 2>&1)
assert_contains "kubectl scale --replicas=4 is accepted" "scaled" "$out"

# DELETE is always allowed.
out=$(kc -n "$ns" delete vkc disk sized --wait=false 2>&1)
assert_contains "DELETE is allowed" "deleted" "$out"
suite_end
