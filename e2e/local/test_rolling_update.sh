#!/usr/bin/env bash
# e2e suite "rolling_update": spec.image of a Running 3-pod ValkeyCluster (auth on, the default)
# changes (kubectl patch) while a client writes (SET + WAIT 1 500, acknowledged only when WAIT
# says >= 1 replica has it) through the read-write Service's Endpoints, i.e. to the pod labelled
# primary, following it when it moves. The StatefulSet is OnDelete and gungnir rolls the pods:
#   - every pod is restarted exactly once (one new uid per pod name in the pods' watch stream)
#     onto the StatefulSet's new revision (controller-revision-hash = status.updateRevision), and
#     runs the new image;
#   - the replicas first, highest ordinal first, each one only after the one before is back and
#     Ready; then the primary role moves to an updated replica (Event Switchover, exactly one);
#     then the old primary is restarted; Events RollingUpdate (one per pod);
#   - no failover: status.failover.epoch and status.lastFailover unchanged, no FailoverCompleted;
#   - a 100 ms watcher (and the replayed watch stream) never saw two pods labelled primary nor two
#     ready IPs in the Endpoints;
#   - the cluster ends Running with one primary and 2 linked replicas within E2E_ROLL_BOUND
#     seconds (default 180) of the patch; every acknowledged write is on the final primary.
# Prints the acknowledged / lost counts and the roll's times (no timing assertion but the bound).
# Needs the failover cluster (see failover_lib.sh) or run.sh's.
set -uo pipefail
# shellcheck source=failover_lib.sh
. "$(dirname "$0")/failover_lib.sh"
suite_begin
fo_setup || { suite_end; exit 1; }
make_ns roll || { suite_end; exit 1; }
ns=$E2E_NS
name=ru
on_cleanup fo_delete "$ns" "$name"
roll_bound=${E2E_ROLL_BOUND:-180}
FO_CLIENT_MAX_S=${FO_CLIENT_MAX_S:-$((roll_bound + 120))} # the client stops by itself at the latest then

fo_create "$ns" "$name" 3 || { suite_end; exit 1; }
image0=$(kj "$ns" "vkc/$name" '{.spec.image}')
assert_eq "spec.image (the webhook's default)" valkey/valkey:8.1 "$image0"
image1=valkey/valkey:8.1.1
[ "$image0" != "$image1" ] || image1=valkey/valkey:8.1.2
old=$(kj "$ns" "vkc/$name" '{.status.primary}')
old_ip=$(pod_ip "$ns" "$old")
epoch0=$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')
last0=$(fo_vkc_field "$ns" "$name" '.status.lastFailover | tojson')
rev0=$(kj "$ns" "statefulset/$name" '{.status.updateRevision}')
assert_eq "the StatefulSet's updateStrategy" OnDelete "$(kj "$ns" "statefulset/$name" '{.spec.updateStrategy.type}')"
assert_nonempty "the StatefulSet's status.updateRevision" "$rev0"

# pods_lines: the cluster's pods through the proxy (one line per pod: name uid revision deleting image).
pods_lines() {
    curl -sf --max-time 5 "$E2E_PROXY/api/v1/namespaces/$ns/pods?labelSelector=app.kubernetes.io/instance%3D$name" |
        jq -r '.items[] | "\(.metadata.name) \(.metadata.uid) \(.metadata.labels["controller-revision-hash"] // "-") \(if .metadata.deletionTimestamp then "deleting" else "live" end) \(.spec.containers[0].image)"' |
        sort
}
pods0=$(pods_lines)
say "before: primary $old ($old_ip), epoch $epoch0, lastFailover $last0, revision $rev0, image $image0; pods:"
sed 's/^/       | /' <<<"$pods0"
assert_eq "3 pods, all on revision $rev0" 3 "$(awk -v r="$rev0" '$3 == r && $4 == "live"' <<<"$pods0" | wc -l)"
declare -A uid0=()
while read -r p u _; do uid0[$p]=$u; done <<<"$pods0"
# The replicas, highest ordinal first: the order they must be rolled in.
replicas=$(for p in "${!uid0[@]}"; do [ "$p" != "$old" ] && echo "${p##*-} $p"; done | sort -k1,1nr | cut -d' ' -f2 | xargs)
say "replicas in roll order: $replicas; the primary $old last"

fo_watch_start "$ns" "$name" "$FO_WORK/watch"
fo_client_start "$ns" "$name" "$FO_WORK/client"
expect_within "the client writes through the Service's Endpoints (acknowledged writes)" 30 \
    bash -c "[ \$(wc -l <$FO_WORK/client/acked 2>/dev/null || echo 0) -ge 20 ]"

log0=$(fo_log_lines)
t0=$(now_ms)
out=$(kc -n "$ns" patch "vkc/$name" --type merge -p "{\"spec\":{\"image\":\"$image1\"}}" 2>&1)
assert_contains "kubectl patch spec.image $image0 -> $image1 accepted" patched "$out"
say "patched at $t0"
new_revision() {
    local r i
    r=$(kj "$ns" "statefulset/$name" '{.status.updateRevision}')
    i=$(kj "$ns" "statefulset/$name" '{.spec.template.spec.containers[0].image}')
    echo "updateRevision $r (was $rev0), template image $i"
    [ -n "$r" ] && [ "$r" != "$rev0" ] && [ "$i" = "$image1" ]
}
expect_within "the StatefulSet's template has $image1 and a new updateRevision" 30 new_revision
rev1=$(kj "$ns" "statefulset/$name" '{.status.updateRevision}')
rolled() { # every pod live on rev1 and the cluster settled
    local lines
    lines=$(pods_lines)
    echo "$lines"
    [ "$(awk -v r="$rev1" '$3 == r && $4 == "live"' <<<"$lines" | wc -l)" = 3 ] && [ "$(wc -l <<<"$lines")" = 3 ] &&
        vkc_settled "$ns" "$name" 3 >/dev/null
}
if expect_within "every pod restarted onto revision $rev1 and $name settled again (Running, 3/3 ready, one primary, 2 replicas)" \
    "$roll_bound" rolled; then
    t_done=$(now_ms)
else
    t_done=""
    say "state now: $(fo_status "$ns" "$name")"
    pods_state "$ns" "$name" | sed 's/^/       | /'
fi
expect_within "every replica follows the primary with its link up" 60 replicas_attached "$ns" "$name"
new=$(fo_vkc_field "$ns" "$name" '.status.primary')
new_ip=$(pod_ip "$ns" "$new")
assert_ne "the primary moved off $old" "$old" "$new"
assert_eq "the pod labelled primary is status.primary" "$new" "$(pods_with_role "$ns" "$name" primary)"
pods1=$(pods_lines)
say "after: primary $new ($new_ip); pods:"
sed 's/^/       | /' <<<"$pods1"
assert_eq "every pod runs $image1" 3 "$(awk -v i="$image1" '$5 == i' <<<"$pods1" | wc -l)"

# The client found the final primary.
t_after=$(now_ms)
expect_within "the client writes to the final primary $new ($new_ip) through the Endpoints" 60 \
    bash -c "[ \$(awk -v ip=$new_ip -v t=$t_after '\$2 == ip && \$3 >= t {n++} END {print n+0}' $FO_WORK/client/acked) -ge 5 ]"
fo_client_stop "$FO_WORK/client"
acked=$(fo_acked "$FO_WORK/client")
unacked=$(wc -l <"$FO_WORK/client/unacked" 2>/dev/null || echo 0)
say "client: $acked acknowledged writes; $unacked written but not acknowledged; log:"
sed 's/^/       | /' "$FO_WORK/client/client.log" | tail -n 15
verify_out=$(fo_verify "$ns" "$name" "$new" "$FO_WORK/client" 2>&1)
verify_rc=$?
lost=$(sed -n 's/.* checked, \([0-9]*\) missing.*/\1/p' <<<"$verify_out")
if [ "$verify_rc" = 0 ]; then
    pass "every acknowledged write is on the final primary $new ($verify_out)"
else
    fail "acknowledged writes lost on the final primary $new: $verify_out"
fi
check "the watcher never saw two pods labelled primary nor two IPs in the Endpoints" fo_watch_stop "$FO_WORK/watch"

# ---- the order, from the pods' watch stream (in the API server's order)
ev=$FO_WORK/watch/pod_events
# first_ms AWK_PRED: the time of the first pod event after t0 matching PRED
# ($1 t_ms, $2 type, $3 pod, $4 uid, $5 revision, $6 role, $7 live|deleting, $8 Ready).
first_ms() { awk -v t0="$t0" "\$1 >= t0 && ($1) {print \$1; exit}" "$ev"; }
declare -A t_del=() t_back=()
for p in "${!uid0[@]}"; do
    uids=$(awk -v p="$p" '$3 == p {print $4}' "$ev" | sort -u | xargs)
    nu=$(wc -w <<<"$uids")
    newuid=$(awk -v p="$p" -v u="${uid0[$p]}" '$3 == p && $4 != u {print $4}' "$ev" | tail -n 1)
    newrev=$(awk -v p="$p" -v u="$newuid" '$3 == p && $4 == u {print $5}' "$ev" | tail -n 1)
    if [ "$nu" = 2 ] && [ "$newrev" = "$rev1" ]; then
        pass "pod $p restarted exactly once, onto revision $rev1 (uid ${uid0[$p]} -> $newuid)"
    else
        fail "pod $p: expected exactly one restart onto revision $rev1, got uids '$uids' (the last on revision '$newrev')"
    fi
    t_del[$p]=$(first_ms "\$3 == \"$p\" && \$4 == \"${uid0[$p]}\" && \$7 == \"deleting\"")
    t_back[$p]=$(first_ms "\$3 == \"$p\" && \$4 != \"${uid0[$p]}\" && \$7 == \"live\" && \$8 == \"True\"")
done
move=$(awk -v t0="$t0" -v o="$old" '$1 >= t0 && $3 != o && $6 == "primary" && $7 == "live" {print $1, $3, $4, $5; exit}' "$ev")
read -r t_move move_to move_uid move_rev <<<"$move"
t_unlabel=$(first_ms "\$3 == \"$old\" && \$6 != \"primary\"")
say "per pod (ms after the patch): $(for p in $replicas $old; do printf '%s deleting +%s, back Ready +%s; ' "$p" \
    "$((${t_del[$p]:-$t0} - t0))" "$((${t_back[$p]:-$t0} - t0))"; done)primary label on $move_to +$((${t_move:-$t0} - t0))"
lt() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" -lt "$2" ]; }
# Out of service at any moment of the roll (replayed from the watch stream): a pod gone (deleted,
# its successor not yet created), being deleted, or not Ready. At most one at a time.
out_of_service=$(awk -v t0="$t0" -v names="${!uid0[*]}" '
    BEGIN { n = split(names, a, " ") }
    {
        p = $3
        if ($2 == "DELETED") { if ($4 == uid[p]) present[p] = 0 }
        else { present[p] = 1; uid[p] = $4; del[p] = ($7 == "deleting"); rdy[p] = ($8 == "True") }
        if ($1 < t0) next
        c = 0; s = ""
        for (i = 1; i <= n; i++) {
            q = a[i]
            if (!present[q]) { c++; s = s " " q "(gone)" }
            else if (del[q]) { c++; s = s " " q "(deleting)" }
            else if (!rdy[q]) { c++; s = s " " q "(not-Ready)" }
        }
        if (c > max) { max = c; when = $1 - t0; what = s }
    }
    END { printf "%d %d%s\n", max, when, what }' "$ev")
read -r oos_max oos_when oos_what <<<"$out_of_service"
if [ "${oos_max:-9}" -le 1 ]; then
    pass "never more than one pod out of service (gone, being deleted or not Ready) during the roll (at most $oos_max)"
else
    fail "$oos_max pods out of service at once at +$oos_when ms:$oos_what (one at a time expected: the primary was left without a replica to acknowledge WAIT 1)"
fi
read -r r_hi r_lo <<<"$replicas"
if lt "${t_del[$r_hi]}" "${t_del[$r_lo]}"; then
    pass "the replicas were rolled highest ordinal first ($r_hi at +$((t_del[$r_hi] - t0)) ms, then $r_lo at +$((t_del[$r_lo] - t0)) ms)"
else
    fail "expected $r_hi deleted before $r_lo, got '${t_del[$r_hi]}' and '${t_del[$r_lo]}' (t0 $t0)"
fi
if lt "${t_back[$r_hi]}" "${t_del[$r_lo]}"; then
    pass "one at a time: $r_lo was deleted only after the new $r_hi was Ready"
else
    fail "one at a time: $r_lo was deleted at +$((${t_del[$r_lo]:-$t0} - t0)) ms, before the new $r_hi was Ready (+$((${t_back[$r_hi]:-$t0} - t0)) ms)"
fi
if lt "${t_back[$r_lo]}" "$t_move" && lt "${t_del[$r_hi]}" "$t_move"; then
    pass "the primary moved (+$((t_move - t0)) ms) after both replicas were rolled and Ready again"
else
    fail "the primary moved to $move_to at +$((${t_move:-$t0} - t0)) ms, before both replicas were back and Ready ($r_hi +$((${t_back[$r_hi]:-$t0} - t0)) ms, $r_lo +$((${t_back[$r_lo]:-$t0} - t0)) ms)"
fi
if lt "$t_move" "${t_del[$old]}"; then
    pass "the old primary $old was deleted (+$((t_del[$old] - t0)) ms) only after the primary role moved to $move_to"
else
    fail "expected $old deleted after the primary moved, got the move at '$t_move', $old deleting at '${t_del[$old]}' (t0 $t0)"
fi
if [ -n "$move_uid" ] && [ "$move_uid" != "${uid0[$move_to]:-}" ] && [ "$move_rev" = "$rev1" ]; then
    pass "the new primary $move_to is an updated pod (revision $move_rev)"
else
    fail "expected the primary to move to an updated pod, got '$move'"
fi
assert_eq "the final primary is the pod the role moved to" "$move_to" "$new"

# ---- a switchover, no failover
assert_eq "exactly one Event Switchover" 1 "$(fo_event_count "$ns" "$name" Switchover)"
assert_eq "one Event RollingUpdate per pod" 3 "$(fo_event_count "$ns" "$name" RollingUpdate)"
assert_eq "no Event FailoverCompleted" 0 "$(fo_event_count "$ns" "$name" FailoverCompleted)"
assert_eq "status.failover.epoch unchanged (no failover)" "$epoch0" "$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')"
assert_eq "status.lastFailover unchanged (no failover)" "$last0" "$(fo_vkc_field "$ns" "$name" '.status.lastFailover | tojson')"
assert_eq "the StatefulSet counts 3 updated pods" 3 "$(kj "$ns" "statefulset/$name" '{.status.updatedReplicas}')"
check "the old primary $old follows $new (link up, label replica)" fo_replica_of "$ns" "$name" "$old" "$new"

roll_s=unknown
[ -n "$t_done" ] && roll_s="$(((t_done - t0) / 1000)).$((((t_done - t0) % 1000) / 100)) s"
say "COUNTS acknowledged $acked, lost ${lost:-unknown}, written but not acknowledged $unacked; roll (patch -> every pod on the new revision and settled) $roll_s (bound $roll_bound s); old primary unlabelled +$(fo_ms_between "$t0" "$t_unlabel"), new primary labelled $(fo_ms_between "$t0" "$t_move")"
say "pod events of the watch stream after the patch (ms, type, pod, uid, revision, role, deletion, Ready):"
awk -v t0="$t0" '$1 >= t0 {printf "       | +%5d %-8s %s %s %s %s %s %s\n", $1 - t0, $2, $3, substr($4, 1, 8), $5, $6, $7, $8}' "$ev" |
    uniq -f 2 | head -n 60
say "events:"; fo_events "$ns" "$name" | sed 's/^/       | /'
say "gungnir log since the patch:"
fo_log_since "$log0" | grep -v '"level":"debug"' | grep -v '"msg":"applying"' | cut -c1-240 | head -n 30 | sed 's/^/       | /'
suite_end
