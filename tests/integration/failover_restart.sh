#!/usr/bin/env bash
# failover_restart.sh — the primary restarts EMPTY (killed, then a new redis-server on the same
# port with no data, booted fenced: `--replicaof 192.0.2.1 6379`, an unreachable address, as
# every Gungnir pod boots). The probe answers again, but with a new run_id: SDOWN at once
# ("restarted"), and a replica that has the data is promoted. The replicas never take the empty
# data set (the fenced node answers their PSYNC with -NOMASTERLINK).
#
#   bash tests/integration/failover_restart.sh build/tests/failover_driver .
source "$(dirname "$0")/failover_lib.sh"
fo_init "$@"

start_primary p
for r in r1 r2; do start_replica "$r" p; done
for r in r1 r2; do wait_link_up "$r"; done
populate p 1000
wait_offsets_equal p r1 r2
expect_eq "r1 has the 1000 keys before the kill" 1000 "$(cli r1 DBSIZE)"
log "p=${NODE_PORT[p]} r1=${NODE_PORT[r1]} r2=${NODE_PORT[r2]}"

OUT=$T/driver.out
# A long detection window (10 x 500 ms) so that the restarted server answers long before the
# failure threshold: the run_id change is what must trigger SDOWN.
driver_bg "$OUT" --node "$(node_arg p 100)" --node "$(node_arg r1 100)" --node "$(node_arg r2 100)" \
    --primary p --interval-ms 500 --threshold 10 --timeout-ms 300 \
    --kill-pid "${NODE_PID[p]}" --kill-after-ms 1500 --writes --max-seconds 60
if ! wait_event "$OUT" killed; then
    fail "the driver killed p" "$(show_driver "$OUT")"
    finish
fi
reap p
if ! run_node p "${NODE_PORT[p]}" --replicaof 192.0.2.1 6379; then
    fail "p restarted empty on port ${NODE_PORT[p]}" "expected: answers PING" "got: $(tail -3 "$T/p.log")"
    finish
fi
log "p restarted empty as a fenced replica of 192.0.2.1:6379"
driver_wait

expect_eq "driver exit status" 0 "$DRIVER_RC"
[ "$DRIVER_RC" = 0 ] || { fail "driver output" "$(show_driver "$OUT")"; finish; }
expect_eq "sdown reason: the run_id changed" restarted "$(event "$OUT" sdown .why)"
promoted=$(event "$OUT" result .promoted)
case $promoted in
r1 | r2) pass "a replica with the data was promoted ($promoted)" ;;
*) fail "a replica with the data was promoted" "expected: r1 or r2" "got: $promoted" ;;
esac
other=r2
[ "$promoted" = r2 ] && other=r1
acked=$(event "$OUT" result .acked)
expect_eq "acknowledged writes lost" 0 "$(event "$OUT" result .lost)"
log "result: $(event "$OUT" result -c)"

expect_role "$promoted" master
expect_follows "$other" "$promoted"
for r in r1 r2; do
    n=$(cli "$r" DBSIZE)
    expect_true "$r kept its data (DBSIZE $n >= 1000 + $acked acknowledged)" test "$n" -ge $((1000 + acked))
    expect_eq "$r still has key:999" 1 "$(cli "$r" EXISTS key:999)"
done
expect_eq "the two replicas hold the same number of keys" "$(cli "$promoted" DBSIZE)" "$(cli "$other" DBSIZE)"
# The empty ex-primary: untouched by the engine (fencing it is the controller's job): still
# empty, still a replica of the placeholder.
expect_eq "the restarted p is still empty" 0 "$(cli p DBSIZE)"
expect_eq "the restarted p still follows the placeholder" "slave 192.0.2.1 6379" \
    "$(field p replication role) $(field p replication master_host) $(field p replication master_port)"
if grep -q NOMASTERLINK "$T/r1.log" "$T/r2.log"; then
    log "a replica tried the restarted p and was refused with -NOMASTERLINK (as designed)"
fi
finish
