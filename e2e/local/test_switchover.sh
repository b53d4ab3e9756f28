#!/usr/bin/env bash
# e2e suite "switchover": the gungnir.dev/switchover-to annotation on a Running 3-pod
# ValkeyCluster while a client writes (SET + WAIT 1 500, acknowledged only when WAIT says >= 1
# replica has it) through the read-write Service's Endpoints (the pod labelled primary):
#   - annotated with a replica: that pod is the primary (status, label, ROLE master) within 60 s,
#     the annotation is removed, one Event Switchover, no failover (status.failover.epoch and
#     status.lastFailover unchanged, no FailoverCompleted), the old primary follows the new one,
#     no acknowledged write lost;
#   - annotated with the current primary: the annotation is removed, nothing moves;
#   - annotated with a pod that does not exist (ordinal beyond spec.replicas): the request waits
#     (for 20 s the annotation stays and the primary does not change), gungnir's log says why;
#     removed by hand, the cluster stays settled on the same primary;
#   - a 100 ms watcher (and the replayed watch stream) never saw two pods labelled primary nor
#     two ready IPs in the Endpoints.
# Prints the acknowledged / lost counts and the switchover's times.
# Needs the failover cluster (see failover_lib.sh) or run.sh's.
set -uo pipefail
# shellcheck source=failover_lib.sh
. "$(dirname "$0")/failover_lib.sh"
suite_begin
fo_setup || { suite_end; exit 1; }
make_ns switchover || { suite_end; exit 1; }
ns=$E2E_NS
name=sw
ann=gungnir.dev/switchover-to
on_cleanup fo_delete "$ns" "$name"
FO_CLIENT_MAX_S=${FO_CLIENT_MAX_S:-240} # the client stops by itself at the latest then

fo_create "$ns" "$name" 3 || { suite_end; exit 1; }
old=$(kj "$ns" "vkc/$name" '{.status.primary}')
old_ip=$(pod_ip "$ns" "$old")
epoch0=$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')
last0=$(fo_vkc_field "$ns" "$name" '.status.lastFailover | tojson')
# The target: the replica with the highest ordinal (not the one a failover would pick by name).
target=$(for p in $(pods_with_role "$ns" "$name" replica); do echo "${p##*-} $p"; done | sort -k1,1nr | head -n 1 | cut -d' ' -f2)
target_ip=$(pod_ip "$ns" "$target")
say "primary $old ($old_ip), epoch $epoch0, lastFailover $last0; switchover target $target ($target_ip)"
[ -n "$target" ] || { fail "no replica to switch over to"; suite_end; exit 1; }

# annotation: the value of the annotation, "<none>" when it is not there (empty when unreadable).
annotation() { fo_vkc_field "$ns" "$name" "(.metadata.annotations // {})[\"$ann\"] // \"<none>\""; }
annotation_gone() { local a; a=$(annotation); echo "annotation: '$a'"; [ "$a" = "<none>" ]; }
primary_is() { # POD: status.primary, the only pod labelled primary, and ROLE master
    local s l r
    s=$(fo_vkc_field "$ns" "$name" '.status.primary // ""')
    l=$(pods_with_role "$ns" "$name" primary)
    r=$(role_of "$ns" "$name" "$1")
    echo "status.primary=$s labelled=$l ROLE($1)=$r"
    [ "$s" = "$1" ] && [ "$l" = "$1" ] && [ "$r" = master ]
}

fo_watch_start "$ns" "$name" "$FO_WORK/watch"
fo_client_start "$ns" "$name" "$FO_WORK/client"
expect_within "the client writes through the Service's Endpoints (acknowledged writes)" 30 \
    bash -c "[ \$(wc -l <$FO_WORK/client/acked 2>/dev/null || echo 0) -ge 20 ]"

# ---- 1. switch over to a replica
log0=$(fo_log_lines)
t0=$(now_ms)
out=$(kc -n "$ns" annotate "vkc/$name" "$ann=$target" 2>&1)
assert_contains "kubectl annotate $ann=$target" annotated "$out"
if expect_within "$target is the primary (status.primary, the only pod labelled primary, ROLE master)" 60 primary_is "$target"; then
    t_done=$(now_ms)
else
    t_done=""
fi
expect_within "the annotation $ann is removed" 30 annotation_gone
expect_within "Event Switchover" 30 has_event "$ns" "$name" Switchover
sleep 2 # a second switchover would come within a reconcile or two
assert_eq "exactly one Event Switchover" 1 "$(fo_event_count "$ns" "$name" Switchover)"
assert_contains "the Event names both pods and the annotation" "primary moved from $old to $target as requested" \
    "$(fo_events "$ns" "$name" | grep '^Switchover:')"
assert_eq "no Event FailoverCompleted" 0 "$(fo_event_count "$ns" "$name" FailoverCompleted)"
assert_eq "status.failover.epoch unchanged (no failover)" "$epoch0" "$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')"
assert_eq "status.lastFailover unchanged (no failover)" "$last0" "$(fo_vkc_field "$ns" "$name" '.status.lastFailover | tojson')"
expect_within "the old primary $old follows $target (link up, label replica)" 60 fo_replica_of "$ns" "$name" "$old" "$target"
expect_within "$name settles: Running, 3/3 ready, one primary ($target)" 60 vkc_settled "$ns" "$name" 3
expect_within "every replica follows $target" 60 replicas_attached "$ns" "$name"
expect_within "the client writes to $target ($target_ip) through the Endpoints" 60 \
    bash -c "[ \$(awk -v ip=$target_ip -v t=$t0 '\$2 == ip && \$3 >= t {n++} END {print n+0}' $FO_WORK/client/acked) -ge 5 ]"
t_label=$(fo_first_after "$FO_WORK/watch" "$t0" labelled_primary "\$3 == \"$target\"")
t_unlabel=$(fo_first_after "$FO_WORK/watch" "$t0" labelled_primary "\$3 != \"$old\"")
t_ep=$(fo_first_after "$FO_WORK/watch" "$t0" endpoints "\$3 == \"$target_ip\"")
t_first_write=$(awk -v ip="$target_ip" -v t="$t0" '$2 == ip && $3 >= t {print $3; exit}' "$FO_WORK/client/acked")
say "MEASURED annotate -> $old unlabelled: $(fo_ms_between "$t0" "$t_unlabel"); -> $target labelled primary: $(fo_ms_between "$t0" "$t_label"); -> Endpoints = $target_ip: $(fo_ms_between "$t0" "$t_ep"); -> first acknowledged write on $target: $(fo_ms_between "$t0" "$t_first_write"); -> checked primary: $(fo_ms_between "$t0" "$t_done") (100 ms polling)"
say "gungnir log since the annotation:"
fo_log_since "$log0" | grep -v '"level":"debug"' | grep -v '"msg":"applying"' | cut -c1-240 | head -n 15 | sed 's/^/       | /'

# ---- 2. the current primary: nothing to do, the annotation goes
n_sw=$(fo_event_count "$ns" "$name" Switchover)
out=$(kc -n "$ns" annotate "vkc/$name" "$ann=$target" 2>&1)
assert_contains "kubectl annotate $ann=$target (already the primary)" annotated "$out"
expect_within "the annotation naming the current primary is removed" 30 annotation_gone
check "$target is still the primary" primary_is "$target"
assert_eq "no new Event Switchover" "$n_sw" "$(fo_event_count "$ns" "$name" Switchover)"

# ---- 3. a pod that does not exist (ordinal 7 of a 3-pod cluster): the request waits
missing=$name-7
log1=$(fo_log_lines)
out=$(kc -n "$ns" annotate "vkc/$name" "$ann=$missing" 2>&1)
assert_contains "kubectl annotate $ann=$missing (no such pod)" annotated "$out"
waits() {
    local a
    a=$(annotation)
    echo "annotation '$a'; $(primary_is "$target")"
    [ "$a" = "$missing" ] && primary_is "$target" >/dev/null
}
stays_for "the request for $missing waits: the annotation stays, $target stays the primary" 20 waits
log_says() {
    local l
    l=$(fo_log_since "$log1" | grep 'requested switchover waits' | grep -F "\"$missing\"" | tail -n 1)
    echo "${l:-no 'requested switchover waits' line naming $missing yet}"
    [ -n "$l" ]
}
check "gungnir's log says the request waits (the pod is not a reachable replica)" log_says
assert_eq "no new Event Switchover while it waits" "$n_sw" "$(fo_event_count "$ns" "$name" Switchover)"
out=$(kc -n "$ns" annotate "vkc/$name" "$ann-" 2>&1)
assert_contains "the annotation removed by hand" annotated "$out"
assert_eq "the annotation is gone" "<none>" "$(annotation)"
expect_within "$name settled on $target after the request was withdrawn" 60 vkc_settled "$ns" "$name" 3
check "$target is still the primary" primary_is "$target"

# ---- the writes
fo_client_stop "$FO_WORK/client"
acked=$(fo_acked "$FO_WORK/client")
unacked=$(wc -l <"$FO_WORK/client/unacked" 2>/dev/null || echo 0)
say "client: $acked acknowledged writes; $unacked written but not acknowledged; log:"
sed 's/^/       | /' "$FO_WORK/client/client.log" | tail -n 12
verify_out=$(fo_verify "$ns" "$name" "$target" "$FO_WORK/client" 2>&1)
verify_rc=$?
lost=$(sed -n 's/.* checked, \([0-9]*\) missing.*/\1/p' <<<"$verify_out")
if [ "$verify_rc" = 0 ]; then
    pass "every acknowledged write is on the primary $target ($verify_out)"
else
    fail "acknowledged writes lost on the primary $target: $verify_out"
fi
check "the watcher never saw two pods labelled primary nor two IPs in the Endpoints" fo_watch_stop "$FO_WORK/watch"
assert_eq "status.failover.epoch still unchanged" "$epoch0" "$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')"
say "COUNTS acknowledged $acked, lost ${lost:-unknown}, written but not acknowledged $unacked"
say "events:"; fo_events "$ns" "$name" | sed 's/^/       | /'
suite_end
