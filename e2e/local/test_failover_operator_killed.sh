#!/usr/bin/env bash
# e2e suite "failover_operator_killed": kill -9 the primary's server, then kill -9 gungnir a moment
# later (FO_DELAYS, default 100 650 800 ms: before the detection, around it and the promotion
# (3 probes of 200 ms), just after),
# and start gungnir again. Each time, while a client writes (SET + WAIT 1 500) through the
# Service's Endpoints:
#   - the cluster converges to exactly one primary (not the killed one), every replica following
#     it, status.failover.inProgress false;
#   - status.failover.epoch only grew (watch stream + 100 ms polling);
#   - every acknowledged write is on the primary;
#   - the 100 ms watcher never saw two pods labelled primary nor two ready IPs in the Endpoints.
# gungnir is started again with deploy.sh WITHOUT --restart: --restart also stops the node agent,
# which stops every pod (their in-memory data goes with them), which is not this scenario.
set -uo pipefail
# shellcheck source=failover_lib.sh
. "$(dirname "$0")/failover_lib.sh"
suite_begin
fo_setup || { suite_end; exit 1; }
make_ns opkill || { suite_end; exit 1; }
ns=$E2E_NS
name=fok
on_cleanup fo_delete "$ns" "$name"
# Whatever happens, leave a running gungnir behind.
on_cleanup "[ -n \"\$(operator_pid)\" ] && kill -0 \"\$(operator_pid)\" 2>/dev/null || operator_start >/dev/null 2>&1"

fo_create "$ns" "$name" 3 || { suite_end; exit 1; }
fo_watch_start "$ns" "$name" "$FO_WORK/watch"
fo_client_start "$ns" "$name" "$FO_WORK/client"
expect_within "the client writes through the Service's Endpoints (acknowledged writes)" 30 \
    bash -c "[ \$(wc -l <$FO_WORK/client/acked 2>/dev/null || echo 0) -ge 20 ]"

converged() { # OLD: one primary (not OLD), all attached, inProgress false, Running
    local prim ip
    prim=$(fo_vkc_field "$ns" "$name" '.status.primary // ""')
    ip=$(fo_vkc_field "$ns" "$name" '.status.failover.inProgress')
    echo "status.primary=$prim inProgress=$ip"
    [ -n "$prim" ] && [ "$prim" != "$1" ] && [ "$ip" != true ] || return 1
    vkc_settled "$ns" "$name" 3 && replicas_attached "$ns" "$name"
}

results=()
for delay in ${FO_DELAYS:-100 650 800}; do
    old=$(fo_vkc_field "$ns" "$name" '.status.primary')
    old_ip=$(pod_ip "$ns" "$old")
    epoch_before=$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')
    say "=== round with gungnir killed ${delay} ms after the primary: primary $old ($old_ip), epoch $epoch_before"
    log0=$(fo_log_lines)
    spid=$(fo_server_pid "$ns" "$old")
    opid=$(operator_pid)
    secs=$(awk -v d="$delay" 'BEGIN {printf "%.3f", d / 1000}')
    t0=$(now_ms)
    kill -KILL "$spid"
    sleep "$secs"
    kill -KILL "$opid"
    t_opkill=$(now_ms)
    say "kill -9 server of $old at t0; kill -9 gungnir (pid $opid) at t0+$((t_opkill - t0)) ms; status then: $(fo_status "$ns" "$name")"
    wait_for "gungnir pid $opid to be gone" 10 bash -c "! kill -0 $opid 2>/dev/null" >/dev/null
    sleep 1
    out=$(operator_start 2>&1)
    assert_contains "gungnir started again (deploy.sh --dir $STATE_DIR --build $E2E_BUILD)" "gungnir started" "$out"
    t_start=$(now_ms)
    if expect_within "round ${delay} ms: converged to one primary other than $old, all replicas following, inProgress false" 120 converged "$old"; then
        :
    else
        say "status: $(fo_status "$ns" "$name")"
    fi
    new=$(fo_vkc_field "$ns" "$name" '.status.primary')
    new_ip=$(pod_ip "$ns" "$new")
    epoch_after=$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')
    assert_ge "round ${delay} ms: status.failover.epoch grew (was $epoch_before)" "$((epoch_before + 1))" "$epoch_after"
    assert_eq "round ${delay} ms: status.failover.inProgress" false "$(fo_vkc_field "$ns" "$name" '.status.failover.inProgress')"
    assert_eq "round ${delay} ms: pods labelled primary" 1 "$(fo_primary_label_count "$ns" "$name")"
    expect_within "round ${delay} ms: the client writes to $new ($new_ip) through the Endpoints" 60 \
        bash -c "[ \$(awk -v ip=$new_ip -v t=$t0 '\$2 == ip && \$3 >= t {n++} END {print n+0}' $FO_WORK/client/acked) -ge 5 ]"
    check "round ${delay} ms: every acknowledged write so far is on $new" fo_verify "$ns" "$name" "$new" "$FO_WORK/client"
    check "round ${delay} ms: the watcher saw no violation so far" fo_watch_check "$FO_WORK/watch"
    t_label=$(fo_first_after "$FO_WORK/watch" "$t0" labelled_primary "\$3 != \"$old\" && \$3 != \"-\"")
    t_write=$(awk -v ip="$new_ip" -v t="$t0" '$2 == ip && $3 >= t {print $3; exit}' "$FO_WORK/client/acked")
    r="gungnir killed at +$((t_opkill - t0)) ms, restarted at +$((t_start - t0)) ms: new primary $new labelled at +$(fo_ms_between "$t0" "$t_label"), first acknowledged write at +$(fo_ms_between "$t0" "$t_write"); epoch $epoch_before -> $epoch_after; lastFailover $(fo_vkc_field "$ns" "$name" '.status.lastFailover|tojson')"
    results+=("$r")
    say "MEASURED $r"
    say "gungnir log of the round (warn/error and failover lines):"
    fo_log_since "$log0" | grep -v '"level":"debug"' | grep -i 'failover\|primary\|fenc\|error\|resum\|starting\|leader' | cut -c1-240 | head -n 20 | sed 's/^/       | /'
done

fo_client_stop "$FO_WORK/client"
say "client: $(fo_acked "$FO_WORK/client") acknowledged writes; $(wc -l <"$FO_WORK/client/unacked" 2>/dev/null || echo 0) written but not acknowledged; log:"
sed 's/^/       | /' "$FO_WORK/client/client.log" | tail -n 20
final=$(fo_vkc_field "$ns" "$name" '.status.primary')
check "every acknowledged write (all rounds) is on the final primary $final" fo_verify "$ns" "$name" "$final" "$FO_WORK/client"
check "the watcher never saw two primaries, two IPs in the Endpoints, or the epoch going back" fo_watch_stop "$FO_WORK/watch"
say "events:"; fo_events "$ns" "$name" | sed 's/^/       | /'
for r in "${results[@]}"; do say "MEASURED $r"; done
suite_end
