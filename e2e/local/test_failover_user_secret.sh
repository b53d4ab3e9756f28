#!/usr/bin/env bash
# e2e suite "failover_user_secret": a 3-pod ValkeyCluster whose password lives in the user's own
# Secret (spec.auth.secretName: a Secret without any of the operator's labels) is protected like
# any other. Before the fix, the monitor looked for the password only in its cache of labelled
# Secrets, never probed such a primary, and a hung primary was never replaced.
#   - the cluster settles with the user's password (a write with it works; none without it);
#   - SIGSTOP of the primary's server (hung, not dead) while a client writes with SET + WAIT 1:
#     a new primary within a bound, lastFailover.from = the old one, Event FailoverCompleted;
#   - every acknowledged write is on the new primary;
#   - after SIGCONT the old primary rejoins as a replica (demoted, or its pod fenced and back);
#   - never two pods labelled primary.
set -uo pipefail
# shellcheck source=failover_lib.sh
. "$(dirname "$0")/failover_lib.sh"
suite_begin
fo_setup || { suite_end; exit 1; }
make_ns usersecret || { suite_end; exit 1; }
ns=$E2E_NS
name=us
secret=us-own-password
on_cleanup fo_delete "$ns" "$name"

# The user's Secret, made before the cluster, with none of the operator's labels.
password="u5er-$(date +%s%N | sha256sum | cut -c1-20)"
out=$(kc -n "$ns" create secret generic "$secret" --from-literal=password="$password" 2>&1)
assert_contains "the user's Secret is created" "secret/$secret created" "$out"
E2E_PW["$ns/$name"]=$password # vpassword (and the client) use it

out=$(apply_vkc "$ns" "$name" 3 "auth:" "  secretName: $secret" "failover:" "  probeIntervalMilliseconds: 200" \
    "  failureThreshold: 3" 2>&1)
assert_contains "kubectl apply of $name (auth.secretName: $secret) accepted" "valkeycluster.gungnir.dev/$name created" "$out"
expect_within "$name settles: Running, 3/3 ready, one primary" 180 vkc_settled "$ns" "$name" 3 || { suite_end; exit 1; }
expect_within "every replica of $name follows the primary, link up" 90 replicas_attached "$ns" "$name"
assert_eq "no <name>-auth Secret was made" "" "$(kc -n "$ns" get secret "$name-auth" -o name 2>/dev/null)"

old=$(kj "$ns" "vkc/$name" '{.status.primary}')
old_ip=$(pod_ip "$ns" "$old")
assert_eq "the primary takes the user's password" OK "$(vcli "$ns" "$name" "$old" SET us:probe 1)"
assert_contains "the primary refuses a client without it" "NOAUTH" "$(timeout 5 redis-cli -h "$old_ip" SET us:x 1 2>&1)"
epoch0=$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')
say "primary $old ($old_ip), epoch $epoch0"

fo_watch_start "$ns" "$name" "$FO_WORK/watch"
fo_client_start "$ns" "$name" "$FO_WORK/client"
expect_within "the client writes with the user's password (acknowledged writes)" 30 \
    bash -c "[ \$(wc -l <$FO_WORK/client/acked 2>/dev/null || echo 0) -ge 20 ]"

t0=$(now_ms)
pid=$(fo_kill_server "$ns" "$old" STOP)
say "SIGSTOP $pid (the server of $old) at $t0"
on_cleanup "kill -CONT $pid 2>/dev/null"
new_primary() {
    local line p f ip
    line=$(fo_vkc_field "$ns" "$name" '"\(.status.primary // "") \(.status.lastFailover.from // "") \(.status.failover.inProgress)"')
    echo "status: $line; $(fo_status "$ns" "$name")"
    read -r p f ip <<<"$line"
    [ -n "$p" ] && [ "$p" != "$old" ] && [ "$f" = "$old" ] && [ "$ip" = false ]
}
expect_within "a hung primary is replaced (status.primary changed, lastFailover.from = $old)" 60 new_primary
t_done=$(now_ms)
new=$(fo_vkc_field "$ns" "$name" '.status.primary')
new_ip=$(pod_ip "$ns" "$new")
say "new primary $new ($new_ip) $((t_done - t0)) ms after the SIGSTOP (100 ms polling)"
assert_eq "status.failover.epoch incremented by one" "$((epoch0 + 1))" "$(fo_vkc_field "$ns" "$name" '.status.failover.epoch')"
expect_within "Event FailoverCompleted" 30 has_event "$ns" "$name" FailoverCompleted
expect_within "the client writes to the new primary $new_ip after the hang" 60 \
    bash -c "[ \$(awk -v ip=$new_ip -v t=$t0 '\$2 == ip && \$3 >= t {n++} END {print n+0}' $FO_WORK/client/acked) -ge 5 ]"
fo_client_stop "$FO_WORK/client"
say "client: $(fo_acked "$FO_WORK/client") acknowledged writes"
check "every acknowledged write is on the new primary $new" fo_verify "$ns" "$name" "$new" "$FO_WORK/client"

kill -CONT "$pid" 2>/dev/null
say "SIGCONT $pid"
expect_within "the old primary $old comes back as a replica of $new" 120 fo_replica_of "$ns" "$name" "$old" "$new"
expect_within "$name settles again: 3/3 ready, one primary" 120 vkc_settled "$ns" "$name" 3
check "the watcher never saw two primaries nor two IPs in the Endpoints" fo_watch_stop "$FO_WORK/watch"
suite_end
