#!/usr/bin/env bash
# e2e suite "failover_partition": cut the primary's pod off the network (netns.sh cut: its server
# keeps running, the node agent still sees it Ready, nobody reaches it) while a client writes
# (SET + WAIT 1 500) through the read-write Service's Endpoints.
#   - a replica is promoted (status.primary, lastFailover.from, epoch + 1, FailoverCompleted);
#   - the old primary's pod is deleted (Event Fenced) and comes back as a replica of the new
#     primary; after heal (when the old pod still exists) it is demoted;
#   - every acknowledged write is on the new primary;
#   - a 100 ms watcher never saw two pods labelled primary nor two ready IPs in the Endpoints.
# Prints the measured cut -> new primary times (no timing assertion).
set -uo pipefail
# shellcheck source=failover_lib.sh
. "$(dirname "$0")/failover_lib.sh"
suite_begin
fo_setup || { suite_end; exit 1; }
make_ns part || { suite_end; exit 1; }
ns=$E2E_NS
name=fp
NETNS=$E2E_ROOT/e2e/cluster/netns.sh
on_cleanup fo_delete "$ns" "$name"

fo_create "$ns" "$name" 3 || { suite_end; exit 1; }
old=$(kj "$ns" "vkc/$name" '{.status.primary}')
old_ip=$(pod_ip "$ns" "$old")
old_uid=$(kj "$ns" "pod/$old" '{.metadata.uid}')
epoch0=$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')
say "primary $old ($old_ip, uid $old_uid), epoch $epoch0"

fo_watch_start "$ns" "$name" "$FO_WORK/watch"
fo_client_start "$ns" "$name" "$FO_WORK/client"
expect_within "the client writes through the Service's Endpoints (acknowledged writes)" 30 \
    bash -c "[ \$(wc -l <$FO_WORK/client/acked 2>/dev/null || echo 0) -ge 20 ]"

log0=$(fo_log_lines)
t0=$(now_ms)
check "netns.sh cut $ns.$old" "$NETNS" cut "$ns.$old"
t_cut=$(now_ms)
on_cleanup "'$NETNS' heal '$ns.$old' >/dev/null 2>&1"
say "cut $ns.$old between $t0 and $t_cut"
new_primary() {
    local line
    line=$(fo_vkc_field "$ns" "$name" '"\(.status.primary // "") \(.status.lastFailover.from // "") \(.status.failover.inProgress)"')
    echo "status: $line; $(fo_status "$ns" "$name")"
    read -r p f ip <<<"$line"
    [ -n "$p" ] && [ "$p" != "$old" ] && [ "$f" = "$old" ] && [ "$ip" = false ]
}
expect_within "a replica is promoted (status.primary changed, lastFailover.from = $old)" 60 new_primary
new=$(fo_vkc_field "$ns" "$name" '.status.primary')
new_ip=$(pod_ip "$ns" "$new")
say "new primary: $new ($new_ip); lastFailover: $(fo_vkc_field "$ns" "$name" '.status.lastFailover|tojson')"
assert_eq "status.failover.epoch incremented by one" "$((epoch0 + 1))" "$(fo_vkc_field "$ns" "$name" '.status.failover.epoch')"
expect_within "Event FailoverCompleted" 30 has_event "$ns" "$name" FailoverCompleted
sleep 2 # a second (duplicate) completion would come within a reconcile or two
assert_eq "exactly one Event FailoverCompleted for one failover" 1 "$(fo_event_count "$ns" "$name" FailoverCompleted)"
reason=$(fo_vkc_field "$ns" "$name" '.status.lastFailover.reason')
if grep -q 'resumed after a controller restart' <<<"$reason"; then
    fail "status.lastFailover.reason says '$reason' although the controller did not restart (durationMilliseconds $(fo_vkc_field "$ns" "$name" '.status.lastFailover.durationMilliseconds'))"
else
    pass "status.lastFailover.reason is the detection's ($reason)"
fi
fo_events "$ns" "$name" | sed 's/^/       | event /'

# Fencing: the old primary runs (per the API) and does not answer: its pod is deleted.
expect_within "Event Fenced" 60 has_event "$ns" "$name" Fenced
pod_replaced() {
    local uid
    uid=$(kj "$ns" "pod/$old" '{.metadata.uid}')
    echo "pod $old uid '$uid' (was $old_uid); $(grep " pod_$old " "$FO_WORK/watch/timeline" | tail -n 3 | tr '\n' ' ')"
    [ -n "$uid" ] && [ "$uid" != "$old_uid" ]
}
expect_within "the old primary's pod $old was deleted and recreated by the StatefulSet (new uid)" 90 pod_replaced
check "the old primary's pod was deleted while the partition lasted (watch saw deletionTimestamp)" \
    grep -q " pod_$old .*deleting\| pod_$old DELETED" "$FO_WORK/watch/timeline"
if ip netns list | awk '{print $1}' | grep -qx "gpod-$ns.$old"; then
    say "heal $ns.$old (its netns still exists)"
    "$NETNS" heal "$ns.$old" 2>&1 | sed 's/^/       | /'
fi
expect_within "the old primary $old is demoted: a replica of $new (master_host, link up, label replica)" 120 \
    fo_replica_of "$ns" "$name" "$old" "$new"
assert_eq "the old primary $old answers ROLE slave" slave "$(role_of "$ns" "$name" "$old")"

expect_within "the client writes to the new primary $new_ip (through the Endpoints) after the cut" 60 \
    bash -c "[ \$(awk -v ip=$new_ip -v t=$t0 '\$2 == ip && \$3 >= t {n++} END {print n+0}' $FO_WORK/client/acked) -ge 5 ]"
t_first_write=$(awk -v ip="$new_ip" -v t="$t0" '$2 == ip && $3 >= t {print $3; exit}' "$FO_WORK/client/acked")
fo_client_stop "$FO_WORK/client"
say "client: $(fo_acked "$FO_WORK/client") acknowledged writes ($(fo_acked_on "$FO_WORK/client" "$old_ip" "$t0") on the old primary after the cut); $(wc -l <"$FO_WORK/client/unacked" 2>/dev/null || echo 0) written but not acknowledged; log:"
sed 's/^/       | /' "$FO_WORK/client/client.log" | tail -n 12
assert_eq "no write was acknowledged by the cut-off old primary after the cut" 0 "$(fo_acked_on "$FO_WORK/client" "$old_ip" "$t_cut")"
check "every acknowledged write is on the new primary $new" fo_verify "$ns" "$name" "$new" "$FO_WORK/client"
expect_within "$name settles again: 3/3 ready, one primary" 120 vkc_settled "$ns" "$name" 3
expect_within "every replica follows $new" 60 replicas_attached "$ns" "$name"
check "every acknowledged write is on $old after it rejoined" fo_verify "$ns" "$name" "$old" "$FO_WORK/client"

check "the watcher never saw two primaries nor two IPs in the Endpoints" fo_watch_stop "$FO_WORK/watch"

t_status=$(fo_first_after "$FO_WORK/watch" "$t0" status_primary "\$3 != \"$old\" && \$3 != \"-\"")
t_label=$(fo_first_after "$FO_WORK/watch" "$t0" labelled_primary "\$3 != \"$old\" && \$3 != \"-\"")
t_ep=$(fo_first_after "$FO_WORK/watch" "$t0" endpoints "\$3 == \"$new_ip\"")
t_fenced=$(fo_first_after "$FO_WORK/watch" "$t0" "pod_$old" "\$3 ~ /deleting|DELETED/")
say "MEASURED cut -> new primary labelled: $(fo_ms_between "$t0" "$t_label"); -> status.primary: $(fo_ms_between "$t0" "$t_status"); -> Endpoints = new IP: $(fo_ms_between "$t0" "$t_ep"); -> first acknowledged write on the new primary: $(fo_ms_between "$t0" "$t_first_write"); -> old pod being deleted (fenced): $(fo_ms_between "$t0" "$t_fenced"); controller's durationMilliseconds: $(fo_vkc_field "$ns" "$name" '.status.lastFailover.durationMilliseconds') ms"
say "timeline after the cut:"
awk -v t0="$t0" '$1 >= t0 - 200 {printf "       | +%5d ms %s %s\n", $1 - t0, $2, $3}' "$FO_WORK/watch/timeline" | head -n 40
say "gungnir log since the cut:"
fo_log_since "$log0" | grep -v '"level":"debug"' | cut -c1-260 | head -n 25 | sed 's/^/       | /'
suite_end
