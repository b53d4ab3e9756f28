#!/usr/bin/env bash
# failover_stop.sh — SIGSTOP of the primary (a hang: the port accepts, nothing answers): promoted
# after failureThreshold probes time out; no acknowledged write lost. After SIGCONT the new
# primary keeps its role and its data.
#
#   bash tests/integration/failover_stop.sh build/tests/failover_driver .
#
# Note: the driver does not fence. The old primary, once resumed, still believes it is a
# primary (role:master with no replicas) — demoting it (REPLICAOF the new primary) before it
# gets a role label back is the controller's job (architecture.md, protocol step 5), not the
# engine's; this test only records what the old primary says, and checks that its return does
# not disturb the new primary or its followers.
source "$(dirname "$0")/failover_lib.sh"
fo_init "$@"

start_primary p
for r in r1 r2; do start_replica "$r" p; done
for r in r1 r2; do wait_link_up "$r"; done
log "p=${NODE_PORT[p]} r1=${NODE_PORT[r1]} r2=${NODE_PORT[r2]}"

OUT=$T/driver.out
driver_bg "$OUT" --node "$(node_arg p 100)" --node "$(node_arg r1 100)" --node "$(node_arg r2 100)" \
    --primary p --interval-ms 200 --threshold 3 --timeout-ms 300 \
    --kill-pid "${NODE_PID[p]}" --kill-after-ms 1500 --stop --writes --max-seconds 60
driver_wait

expect_eq "driver exit status" 0 "$DRIVER_RC"
[ "$DRIVER_RC" = 0 ] || { fail "driver output" "$(show_driver "$OUT")"; finish; }
expect_eq "the driver stopped p (SIGSTOP)" STOP "$(event "$OUT" killed .signal)"
expect_eq "sdown reason: the probes timed out" "timed out" "$(event "$OUT" sdown .why)"
# equal priorities and offsets (every replica was in sync): the lowest name
expect_eq "promoted" r1 "$(event "$OUT" result .promoted)"
acked=$(event "$OUT" result .acked)
expect_true "some writes were acknowledged before the stop (acked=$acked)" test "$acked" -gt 0
expect_eq "acknowledged writes lost" 0 "$(event "$OUT" result .lost)"
detection=$(event "$OUT" result .detection_ms)
# Not a timing assertion: SDOWN needs three timed-out probes, so it cannot come earlier than
# two intervals plus two timeouts after the stop.
expect_true "SDOWN only after the threshold (detection_ms=$detection >= 2*200+2*300)" test "$detection" -ge 800
log "result: $(event "$OUT" result -c)"
expect_role r1 master
expect_follows r2 r1

keys_before=$(cli r1 DBSIZE)
kill -CONT "${NODE_PID[p]}"
# p answers again (bounded)
for ((i = 0; i < 100; i++)); do [ "$(cli p PING)" = PONG ] && break; sleep 0.05; done
expect_eq "p answers after SIGCONT" PONG "$(cli p PING)"
log "the old primary after SIGCONT says role:$(field p replication role) connected_slaves:$(field p replication connected_slaves) (not fenced: the controller's job)"
expect_eq "p has no replicas left (every replica follows r1)" 0 "$(field p replication connected_slaves)"
sleep 1 # let a stale client or replica reconnect to p if anything would
expect_role r1 master
expect_follows r2 r1
expect_eq "r1 kept its keys after p came back" "$keys_before" "$(cli r1 DBSIZE)"
expect_eq "r1 still has the last acknowledged key" 1 "$(cli r1 EXISTS "k$((acked - 1))")"
expect_eq "a write on r1" OK "$(cli r1 SET after-failover yes)"
wait_offsets_equal r1 r2
expect_eq "r2 has the write made after the failover" yes "$(cli r2 GET after-failover)"
finish
