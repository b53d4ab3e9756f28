#!/usr/bin/env bash
# e2e suite "storage_growth": growing spec.storage.size of a running ValkeyCluster, as a user sees it.
#  1. StorageClass gungnir-e2e-expandable (allowVolumeExpansion: true) and a 3-pod cluster with
#     storage {size: 1Gi, storageClassName: gungnir-e2e-expandable}; keys written on the primary.
#  2. storage.size 1Gi -> 2Gi: every claim data-<name>-N requests 2Gi; the StatefulSet is created
#     again (new uid) asking 2Gi and has adopted the pods; no pod restarted (same uids, container
#     ids, restart counts, revision); the same primary, Running; status.storage Resizing (or
#     Resized) with size 2147483648; Event StorageResize; the keys are still there.
#  3. Scale to 4: the new pod's claim requests 2Gi and it joins as a replica.
#  4. A cluster without storageClassName (the API server refuses to grow its claims): status.storage
#     Refused with the API server's message, one Warning Event StorageResizeRefused, the StatefulSet
#     and the claims keep 1Gi, the cluster stays Running, and a scale 3 -> 2 still works.
set -uo pipefail
export SUITE=storage_growth
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
suite_begin
make_ns storage || { suite_end; exit 1; }
ns=$E2E_NS
sc=gungnir-e2e-expandable
name=grow
fixed=fixed
GI1=1073741824
GI2=2147483648

# ---- helpers ------------------------------------------------------------------------------------
# is_size Q BYTES: the quantity Q the server shows is BYTES (as bytes or in Gi).
is_size() {
    case $2 in
    "$GI1") [ "$1" = "$GI1" ] || [ "$1" = 1Gi ] ;;
    "$GI2") [ "$1" = "$GI2" ] || [ "$1" = 2Gi ] ;;
    *) [ "$1" = "$2" ] ;;
    esac
}
claim_request() { kj "$ns" "pvc/$1" '{.spec.resources.requests.storage}'; }
# claims_request NAME N BYTES: data-NAME-0..N-1 each exist, are Bound and request BYTES.
claims_request() {
    local i c q p bad=0
    for ((i = 0; i < $2; i++)); do
        c=data-$1-$i
        read -r q p <<<"$(kj "$ns" "pvc/$c" '{.spec.resources.requests.storage} {.status.phase}')"
        echo "$c: request '$q' phase '$p'"
        is_size "$q" "$3" && [ "$p" = Bound ] || bad=1
    done
    [ "$bad" = 0 ]
}
sts_request() { kj "$ns" "statefulset/$1" '{.spec.volumeClaimTemplates[?(@.metadata.name=="data")].spec.resources.requests.storage}'; }
# sts_recreated NAME OLD_UID BYTES: StatefulSet NAME exists, is not the one of OLD_UID, is not
# being deleted, and its data claim template asks BYTES.
sts_recreated() {
    local uid del q
    read -r uid del <<<"$(kj "$ns" "statefulset/$1" '{.metadata.uid} {.metadata.deletionTimestamp}')"
    q=$(sts_request "$1")
    echo "statefulset/$1: uid '$uid' (old $2) deletionTimestamp '$del' template request '$q'"
    [ -n "$uid" ] && [ "$uid" != "$2" ] && [ -z "$del" ] && is_size "$q" "$3"
}
# pods_identity NAME: one line per pod: name uid containerID restartCount (sorted).
pods_identity() {
    kc -n "$ns" get pods -l "app.kubernetes.io/instance=$1" \
        -o 'jsonpath={range .items[*]}{.metadata.name} {.metadata.uid} {.status.containerStatuses[?(@.name=="valkey")].containerID} {.status.containerStatuses[?(@.name=="valkey")].restartCount}{"\n"}{end}' 2>/dev/null | sort
}
# pods_unchanged NAME BEFORE: the same pods, uids, container ids and restart counts as BEFORE.
pods_unchanged() {
    local now
    now=$(pods_identity "$1")
    if [ "$now" = "$2" ]; then echo "$now"; return 0; fi
    echo "before:"; echo "$2"; echo "now:"; echo "$now"
    return 1
}
# pods_adopted NAME: every pod is controlled by the current StatefulSet NAME and carries its
# updateRevision (so the StatefulSet has nothing to roll).
pods_adopted() {
    local uid rev p owner prev bad=0
    read -r uid rev <<<"$(kj "$ns" "statefulset/$1" '{.metadata.uid} {.status.updateRevision}')"
    for p in $(pods_of "$ns" "$1"); do
        read -r owner prev <<<"$(kj "$ns" "pod/$p" '{.metadata.ownerReferences[?(@.controller==true)].uid} {.metadata.labels.controller-revision-hash}')"
        echo "$p: controller '$owner' revision '$prev' (statefulset uid '$uid' updateRevision '$rev')"
        [ -n "$uid" ] && [ "$owner" = "$uid" ] && [ -n "$rev" ] && [ "$prev" = "$rev" ] || bad=1
    done
    [ "$bad" = 0 ]
}
storage_status() { kj "$ns" "vkc/$1" '{.status.storage.phase} {.status.storage.size}'; }
# storage_phase_is NAME SIZE PHASE...: status.storage.size is SIZE and its phase one of PHASE...
storage_phase_is() {
    local n=$1 size=$2 p s want
    shift 2
    read -r p s <<<"$(storage_status "$n")"
    echo "status.storage: phase '$p' size '$s' message '$(kj "$ns" "vkc/$n" '{.status.storage.message}')'"
    [ "$s" = "$size" ] || return 1
    for want in "$@"; do [ "$p" = "$want" ] && return 0; done
    return 1
}
# event_count NAME REASON: how many times REASON was said about vkc NAME (Event objects x count).
event_count() {
    kc -n "$ns" get events --field-selector "involvedObject.name=$1,involvedObject.kind=ValkeyCluster,reason=$2" \
        -o 'jsonpath={range .items[*]}{.count}{"\n"}{end}' 2>/dev/null | awk '{n += ($1 == "" ? 1 : $1)} END {print n + 0}'
}
keys_on() { # NAME POD: the 20 keys written in step 1
    local got
    # shellcheck disable=SC2046
    got=$(vcli "$ns" "$1" "$2" MGET $(for i in $(seq 1 20); do echo "e2e:sg:$i"; done) | tr -d '\r' | xargs)
    echo "$2: MGET -> '$got'"
    [ "$got" = "$(for i in $(seq 1 20); do echo "v$i-$stamp"; done | xargs)" ]
}

# ---- 1. an expandable StorageClass and two clusters -----------------------------------------
default_sc=$(kc get storageclass -o 'jsonpath={range .items[?(@.metadata.annotations.storageclass\.kubernetes\.io/is-default-class=="true")]}{.metadata.name} {end}' 2>/dev/null)
assert_eq "the cluster has no default StorageClass (a claim without a class stays without one)" "" "$default_sc"
on_cleanup "kc delete storageclass $sc --wait=false >/dev/null 2>&1"
out=$(kc apply -f - 2>&1 <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $sc
provisioner: e2e.gungnir.dev/none
allowVolumeExpansion: true
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOF
)
assert_contains "StorageClass $sc (allowVolumeExpansion: true) applied" "storageclass.storage.k8s.io/$sc" "$out"
assert_eq "StorageClass $sc allows volume expansion" true "$(kc get storageclass "$sc" -o 'jsonpath={.allowVolumeExpansion}' 2>/dev/null)"

out=$(apply_vkc "$ns" "$name" 3 "storage:" "  size: 1Gi" "  storageClassName: $sc" 2>&1)
assert_contains "ValkeyCluster $name (storage 1Gi, class $sc) created" "valkeycluster.gungnir.dev/$name created" "$out"
on_cleanup "kc -n $ns delete vkc $name --wait=false >/dev/null 2>&1"
# The second cluster (step 4) comes up meanwhile.
out=$(apply_vkc "$ns" "$fixed" 3 "storage:" "  size: 1Gi" 2>&1)
assert_contains "ValkeyCluster $fixed (storage 1Gi, no storageClassName) created" "valkeycluster.gungnir.dev/$fixed created" "$out"
on_cleanup "kc -n $ns delete vkc $fixed --wait=false >/dev/null 2>&1"

expect_within "$name settles: Running, 3/3 ready, one primary" 180 vkc_settled "$ns" "$name" 3 ||
    { fail "$name never settled: the rest of the suite is skipped"; suite_end; exit 1; }
assert_eq "defaulted spec.persistence.mode (storage.size is set)" rdb "$(kj "$ns" "vkc/$name" '{.spec.persistence.mode}')"
check "claims data-$name-0..2 are Bound and request 1Gi" claims_request "$name" 3 "$GI1"
assert_eq "claim data-$name-0 has StorageClass $sc" "$sc" "$(kj "$ns" "pvc/data-$name-0" '{.spec.storageClassName}')"
check "StatefulSet $name asks 1Gi" is_size "$(sts_request "$name")" "$GI1"
prim=$(kj "$ns" "vkc/$name" '{.status.primary}')
sts_uid=$(kj "$ns" "statefulset/$name" '{.metadata.uid}')
stamp=$(date +%s%N)
# shellcheck disable=SC2046
assert_eq "MSET 20 keys on the primary $prim" OK "$(vcli "$ns" "$name" "$prim" MSET $(for i in $(seq 1 20); do echo "e2e:sg:$i v$i-$stamp"; done))"
assert_eq "WAIT 2 (both replicas acknowledged)" 2 "$(vcli "$ns" "$name" "$prim" WAIT 2 5000)"
before=$(pods_identity "$name")
say "pods before the growth:"
sed 's/^/       | /' <<<"$before"
assert_eq "3 pods, each with a uid and a container id" 3 "$(awk 'NF == 4' <<<"$before" | wc -l)"

# ---- 2. storage.size 1Gi -> 2Gi ---------------------------------------------------------------
out=$(kc -n "$ns" patch vkc "$name" --type merge -p '{"spec":{"storage":{"size":"2Gi"}}}' 2>&1)
assert_contains "kubectl patch storage.size 2Gi" patched "$out"
expect_within "claims data-$name-0..2 request 2Gi" 90 claims_request "$name" 3 "$GI2"
expect_within "StatefulSet $name created again (new uid) with a claim template of 2Gi" 90 sts_recreated "$name" "$sts_uid" "$GI2"
expect_within "status.storage: phase Resizing (or Resized), size $GI2" 60 storage_phase_is "$name" "$GI2" Resizing Resized
assert_nonempty "status.storage.message" "$(kj "$ns" "vkc/$name" '{.status.storage.message}')"
say "status.storage: $(storage_status "$name") ($(kj "$ns" "vkc/$name" '{.status.storage.message}'))"
expect_within "Event StorageResize" 30 has_event "$ns" "$name" StorageResize
expect_within "$name settled again with 3 pods" 120 vkc_settled "$ns" "$name" 3
expect_within "the new StatefulSet adopted every pod, all at its updateRevision" 60 pods_adopted "$name"
check "no pod restarted or replaced (same uids, container ids, restart counts)" pods_unchanged "$name" "$before"
assert_eq "the same primary" "$prim" "$(kj "$ns" "vkc/$name" '{.status.primary}')"
grow_steady() { pods_unchanged "$name" "$before" >/dev/null && vkc_settled "$ns" "$name" 3 >/dev/null && [ "$(kj "$ns" "vkc/$name" '{.status.primary}')" = "$prim" ]; }
stays_for "no pod restarted, settled, the same primary" 15 grow_steady
check "the keys are still on the primary $prim" keys_on "$name" "$prim"
for p in $(pods_with_role "$ns" "$name" replica); do
    check "the keys are on replica $p" keys_on "$name" "$p"
done
assert_eq "SET after the growth" OK "$(vcli "$ns" "$name" "$prim" SET e2e:sg:after yes)"
assert_eq "WAIT 2 after the growth" 2 "$(vcli "$ns" "$name" "$prim" WAIT 2 5000)"

# ---- 3. scale to 4 ------------------------------------------------------------------------------
out=$(kc -n "$ns" scale "vkc/$name" --replicas=4 2>&1)
assert_contains "kubectl scale vkc/$name --replicas=4" scaled "$out"
expect_within "$name settles with 4 pods" 180 vkc_settled "$ns" "$name" 4
check "claims data-$name-0..3 request 2Gi (the new one from the new template)" claims_request "$name" 4 "$GI2"
assert_eq "$name-3 is a replica" replica "$(kj "$ns" "pod/$name-3" '{.metadata.labels.gungnir\.dev/role}')"
expect_within "every replica, $name-3 included, follows the primary with its link up" 90 replicas_attached "$ns" "$name"
check "$name-3 has the keys" keys_on "$name" "$name-3"
assert_eq "the same primary after the scale-up" "$prim" "$(kj "$ns" "vkc/$name" '{.status.primary}')"
first_three_unchanged() { local now; now=$(pods_identity "$name" | grep -v "^$name-3 "); echo "$now"; [ "$now" = "$before" ]; }
check "the three first pods were not restarted" first_three_unchanged
check "status.storage still says size $GI2 (Resizing or Resized)" storage_phase_is "$name" "$GI2" Resizing Resized

# ---- 4. no StorageClass: the API server refuses ------------------------------------------------
expect_within "$fixed settles: Running, 3/3 ready" 180 vkc_settled "$ns" "$fixed" 3 ||
    { fail "$fixed never settled: the rest of the suite is skipped"; suite_end; exit 1; }
assert_eq "claim data-$fixed-0 has no StorageClass" "" "$(kj "$ns" "pvc/data-$fixed-0" '{.spec.storageClassName}')"
fsts_uid=$(kj "$ns" "statefulset/$fixed" '{.metadata.uid}')
fprim=$(kj "$ns" "vkc/$fixed" '{.status.primary}')
fbefore=$(pods_identity "$fixed")
out=$(kc -n "$ns" patch vkc "$fixed" --type merge -p '{"spec":{"storage":{"size":"2Gi"}}}' 2>&1)
assert_contains "kubectl patch storage.size 2Gi (accepted: growing is allowed)" patched "$out"
expect_within "status.storage: phase Refused, size $GI2" 60 storage_phase_is "$fixed" "$GI2" Refused
msg=$(kj "$ns" "vkc/$fixed" '{.status.storage.message}')
say "status.storage.message: $msg"
assert_contains "the message carries the API server's refusal" "is forbidden" "$msg"
expect_within "Warning Event StorageResizeRefused" 30 has_event "$ns" "$fixed" StorageResizeRefused
emsg=$(kc -n "$ns" get events --field-selector "involvedObject.name=$fixed,reason=StorageResizeRefused" -o 'jsonpath={.items[0].type}: {.items[0].message}' 2>/dev/null)
assert_contains "the Event is a Warning with the same words" "Warning: $msg" "$emsg"
check "claims data-$fixed-0..2 still request 1Gi" claims_request "$fixed" 3 "$GI1"
assert_eq "StatefulSet $fixed not recreated (same uid)" "$fsts_uid" "$(kj "$ns" "statefulset/$fixed" '{.metadata.uid}')"
check "StatefulSet $fixed still asks 1Gi" is_size "$(sts_request "$fixed")" "$GI1"
fixed_steady() { vkc_settled "$ns" "$fixed" 3 >/dev/null && [ "$(kj "$ns" "vkc/$fixed" '{.status.primary}')" = "$fprim" ] && [ "$(storage_status "$fixed")" = "Refused $GI2" ]; }
stays_for "$fixed stays settled with 3 pods, the same primary, Refused" 15 fixed_steady
check "no pod of $fixed restarted" pods_unchanged "$fixed" "$fbefore"
assert_eq "exactly one StorageResizeRefused (Events x count)" 1 "$(event_count "$fixed" StorageResizeRefused)"

out=$(kc -n "$ns" patch vkc "$fixed" --type merge -p '{"spec":{"replicas":2}}' 2>&1)
assert_contains "kubectl patch $fixed replicas=2" patched "$out"
expect_within "$fixed settles with 2 pods" 180 vkc_settled "$ns" "$fixed" 2
assert_eq "StatefulSet $fixed has 2 replicas" 2 "$(kj "$ns" "statefulset/$fixed" '{.spec.replicas}')"
check "StatefulSet $fixed still asks 1Gi after the scale" is_size "$(sts_request "$fixed")" "$GI1"
assert_eq "status.storage still Refused at $GI2 (not asked again)" "Refused $GI2" "$(storage_status "$fixed")"
assert_eq "still exactly one StorageResizeRefused" 1 "$(event_count "$fixed" StorageResizeRefused)"
suite_end
