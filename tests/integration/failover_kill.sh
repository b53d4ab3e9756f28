#!/usr/bin/env bash
# failover_kill.sh — SIGKILL of the primary: the highest-priority replica is promoted, the
# others follow it, and no write acknowledged with WAIT 1 is lost.
#
#   bash tests/integration/failover_kill.sh build/tests/failover_driver .
#
# Four redis-server processes: p (primary), r1 (priority 100), r2 (priority 200), r3 (100).
# The driver writes keys acknowledged by a replica (WAIT 1) until it SIGKILLs p, detects SDOWN
# (probe every 100 ms, threshold 3), promotes, repoints, then checks every acknowledged key on
# the new primary.
source "$(dirname "$0")/failover_lib.sh"
fo_init "$@"

start_primary p
for r in r1 r2 r3; do start_replica "$r" p; done
for r in r1 r2 r3; do wait_link_up "$r"; done
log "p=${NODE_PORT[p]} r1=${NODE_PORT[r1]} r2=${NODE_PORT[r2]} r3=${NODE_PORT[r3]}"

OUT=$T/driver.out
driver_bg "$OUT" --node "$(node_arg p 100)" --node "$(node_arg r1 100)" --node "$(node_arg r2 200)" \
    --node "$(node_arg r3 100)" --primary p --interval-ms 100 --threshold 3 --timeout-ms 250 \
    --kill-pid "${NODE_PID[p]}" --kill-after-ms 1500 --writes --max-seconds 60
driver_wait
reap p # SIGKILLed by the driver

expect_eq "driver exit status" 0 "$DRIVER_RC"
[ "$DRIVER_RC" = 0 ] || { fail "driver output" "$(show_driver "$OUT")"; finish; }
expect_eq "sdown reason" "connect" "$(event "$OUT" sdown .why | cut -d: -f1)"
expect_eq "record event (epoch from candidate)" "1 p r2" "$(event "$OUT" record '"\(.epoch) \(.from) \(.candidate)"')"
expect_eq "promoted (highest priority)" r2 "$(event "$OUT" result .promoted)"
expect_eq "roles: old primary unlabelled first, then r2 primary, the others replica" \
    "p= r2=primary r1=replica r3=replica" \
    "$(grep '"event":"role"' "$OUT" | jq -r '"\(.pod)=\(.role)"' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "finish ok" "true r2" "$(event "$OUT" finish '"\(.ok) \(.to)"')"
acked=$(event "$OUT" result .acked)
lost=$(event "$OUT" result .lost)
expect_true "some writes were acknowledged before the kill (acked=$acked)" test "$acked" -gt 0
expect_eq "acknowledged writes lost" 0 "$lost"
log "result: $(event "$OUT" result -c)"

expect_role r2 master
expect_follows r1 r2
expect_follows r3 r2
# The acknowledged keys are on the new primary and reach the followers; new writes replicate.
expect_eq "the last acknowledged key is on r2" 1 "$(cli r2 EXISTS "k$((acked - 1))")"
expect_eq "a write on r2" OK "$(cli r2 SET after-failover yes)"
wait_offsets_equal r2 r1 r3
for r in r1 r3; do
    expect_eq "$r has the write made after the failover" yes "$(cli "$r" GET after-failover)"
    expect_eq "$r has as many keys as r2" "$(cli r2 DBSIZE)" "$(cli "$r" DBSIZE)"
done
expect_eq "the old primary's port is dead" "" "$(cli_port "${NODE_PORT[p]}" PING)"
finish
