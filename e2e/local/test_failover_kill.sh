#!/usr/bin/env bash
# e2e suite "failover_kill": kill -9 the primary's server of a 3-pod ValkeyCluster while a client
# writes (SET + WAIT 1 500) through the read-write Service's Endpoints.
#   - a new primary within a bound: status.primary changed, lastFailover.from = the old one,
#     status.failover.epoch + 1, inProgress false, Event FailoverCompleted;
#   - every acknowledged write is on the new primary; the client reconnects through the
#     Endpoints and writes to the new primary;
#   - the old pod comes back as a replica of the new primary (master_host, link up, label);
#   - a 100 ms watcher never saw two pods labelled primary nor two ready IPs in the Endpoints.
# Prints the measured kill -> new primary times (no timing assertion).
# Needs the failover cluster (see failover_lib.sh).
set -uo pipefail
# shellcheck source=failover_lib.sh
. "$(dirname "$0")/failover_lib.sh"
suite_begin
fo_setup || { suite_end; exit 1; }
make_ns kill || { suite_end; exit 1; }
ns=$E2E_NS
name=fk
on_cleanup fo_delete "$ns" "$name"

fo_create "$ns" "$name" 3 || { suite_end; exit 1; }
old=$(kj "$ns" "vkc/$name" '{.status.primary}')
old_ip=$(pod_ip "$ns" "$old")
epoch0=$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')
say "primary $old ($old_ip), epoch $epoch0"

fo_watch_start "$ns" "$name" "$FO_WORK/watch"
fo_client_start "$ns" "$name" "$FO_WORK/client"
expect_within "the client writes through the Service's Endpoints (acknowledged writes)" 30 \
    bash -c "[ \$(wc -l <$FO_WORK/client/acked 2>/dev/null || echo 0) -ge 20 ]"
assert_ge "acknowledged writes to $old_ip before the kill" 1 "$(fo_acked_on "$FO_WORK/client" "$old_ip")"

log0=$(fo_log_lines)
t0=$(now_ms)
pid=$(fo_kill_server "$ns" "$old" KILL)
say "kill -9 $pid (the server of $old) at $t0"
new_primary() { # the status names another primary and the failover from $old is written
    local line
    line=$(fo_vkc_field "$ns" "$name" '"\(.status.primary // "") \(.status.lastFailover.from // "") \(.status.failover.inProgress)"')
    echo "status: $line; $(fo_status "$ns" "$name")"
    read -r p f ip <<<"$line"
    [ -n "$p" ] && [ "$p" != "$old" ] && [ "$f" = "$old" ] && [ "$ip" = false ]
}
expect_within "a new primary (status.primary changed, lastFailover.from = $old, inProgress false)" 60 new_primary
t_done=$(now_ms)
new=$(fo_vkc_field "$ns" "$name" '.status.primary')
new_ip=$(pod_ip "$ns" "$new")
say "new primary: $new ($new_ip)"

assert_ne "status.primary is another pod" "$old" "$new"
assert_eq "status.lastFailover.from" "$old" "$(fo_vkc_field "$ns" "$name" '.status.lastFailover.from')"
assert_eq "status.lastFailover.to" "$new" "$(fo_vkc_field "$ns" "$name" '.status.lastFailover.to')"
assert_eq "status.failover.epoch incremented by one" "$((epoch0 + 1))" "$(fo_vkc_field "$ns" "$name" '.status.failover.epoch')"
assert_eq "status.lastFailover.epoch" "$((epoch0 + 1))" "$(fo_vkc_field "$ns" "$name" '.status.lastFailover.epoch')"
assert_eq "status.failover.inProgress" false "$(fo_vkc_field "$ns" "$name" '.status.failover.inProgress')"
say "lastFailover: $(fo_vkc_field "$ns" "$name" '.status.lastFailover|tojson')"
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
expect_within "the new primary $new is labelled primary and answers ROLE master" 30 \
    bash -c "[ \"\$(kubectl -n $ns get pods -l app.kubernetes.io/instance=$name,gungnir.dev/role=primary -o jsonpath='{.items[*].metadata.name}' 2>/dev/null)\" = $new ] && [ \"\$(REDISCLI_AUTH='$(vpassword "$ns" "$name")' timeout 5 redis-cli --no-auth-warning -h $new_ip ROLE | head -n1)\" = master ]"

# The client found the new primary through the Endpoints.
expect_within "the client writes to the new primary $new_ip (through the Endpoints) after the kill" 60 \
    bash -c "[ \$(awk -v ip=$new_ip -v t=$t0 '\$2 == ip && \$3 >= t {n++} END {print n+0}' $FO_WORK/client/acked) -ge 5 ]"
t_first_write=$(awk -v ip="$new_ip" -v t="$t0" '$2 == ip && $3 >= t {print $3; exit}' "$FO_WORK/client/acked")
fo_client_stop "$FO_WORK/client"
say "client: $(fo_acked "$FO_WORK/client") acknowledged writes; $(wc -l <"$FO_WORK/client/unacked" 2>/dev/null || echo 0) written but not acknowledged; log:"
sed 's/^/       | /' "$FO_WORK/client/client.log" | tail -n 12
check "every acknowledged write is on the new primary $new" fo_verify "$ns" "$name" "$new" "$FO_WORK/client"

# The old pod rejoins as a replica of the new primary.
expect_within "the old primary $old comes back as a replica of $new (master_host, link up, label replica)" 120 \
    fo_replica_of "$ns" "$name" "$old" "$new"
expect_within "$name settles again: 3/3 ready, one primary" 120 vkc_settled "$ns" "$name" 3
expect_within "every replica follows $new" 60 replicas_attached "$ns" "$name"
check "every acknowledged write is on the old primary $old too (resynced)" fo_verify "$ns" "$name" "$old" "$FO_WORK/client"

check "the watcher never saw two primaries nor two IPs in the Endpoints" fo_watch_stop "$FO_WORK/watch"

t_status=$(fo_first_after "$FO_WORK/watch" "$t0" status_primary "\$3 != \"$old\" && \$3 != \"-\"")
t_label=$(fo_first_after "$FO_WORK/watch" "$t0" labelled_primary "\$3 != \"$old\" && \$3 != \"-\"")
t_unlabel=$(fo_first_after "$FO_WORK/watch" "$t0" labelled_primary "\$3 != \"$old\"")
t_ep=$(fo_first_after "$FO_WORK/watch" "$t0" endpoints "\$3 == \"$new_ip\"")
say "MEASURED kill -> old primary unlabelled: $(fo_ms_between "$t0" "$t_unlabel"); -> new primary labelled: $(fo_ms_between "$t0" "$t_label"); -> status.primary: $(fo_ms_between "$t0" "$t_status"); -> Endpoints = new IP: $(fo_ms_between "$t0" "$t_ep"); -> first acknowledged write on the new primary: $(fo_ms_between "$t0" "$t_first_write"); controller's lastFailover.durationMilliseconds: $(fo_vkc_field "$ns" "$name" '.status.lastFailover.durationMilliseconds') ms (100 ms polling)"
say "timeline after the kill:"
awk -v t0="$t0" '$1 >= t0 - 200 {printf "       | +%5d ms %s %s\n", $1 - t0, $2, $3}' "$FO_WORK/watch/timeline" | head -n 40
say "gungnir log since the kill:"
fo_log_since "$log0" | grep -v '"level":"debug"' | cut -c1-260 | head -n 25 | sed 's/^/       | /'
suite_end
