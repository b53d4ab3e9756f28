#!/usr/bin/env bash
# shellcheck disable=SC2034 # NODES and the PRIO arrays are read by failover_lib.sh (by name)
# failover_priority_zero.sh — a replica of priority 0 is never promoted, even when it holds the
# highest replication offset (the others were SIGSTOPped while 24 MiB were written and resumed
# just after the primary died); a promotable replica is chosen and the priority-0 one follows it.
#
#   bash tests/integration/failover_priority_zero.sh build/tests/failover_driver .
source "$(dirname "$0")/failover_lib.sh"
fo_init "$@"

# 1. all in sync; the priority-0 replica has the lowest name.
start_primary s-p
for n in a-zero r1 r2; do start_replica "s-$n" s-p; done
for n in a-zero r1 r2; do wait_link_up "s-$n"; done
driver_bg "$T/s.out" --node "$(node_arg s-p 100)" --node "$(node_arg s-a-zero 0)" --node "$(node_arg s-r1 100)" \
    --node "$(node_arg s-r2 100)" --primary s-p --interval-ms 100 --threshold 3 \
    --kill-pid "${NODE_PID[s-p]}" --kill-after-ms 1000 --writes --max-seconds 60
driver_wait
reap s-p
expect_eq "in sync: driver exit status" 0 "$DRIVER_RC"
expect_eq "in sync: not the priority-0 replica (lowest name)" s-r1 "$(event "$T/s.out" result .promoted)"
expect_eq "in sync: acknowledged writes lost" 0 "$(event "$T/s.out" result .lost)"
expect_follows s-a-zero s-r1
kill_node s-a-zero; kill_node s-r1; kill_node s-r2

# 2. the priority-0 replica holds the highest offset by 24 MiB.
NODES=(z r1 r2)
declare -A PRIO=([z]=0 [r1]=100 [r2]=100)
lag_cluster h r1 r2
run_lag_driver h "$T/h.out" PRIO
log "offsets after the kill: $LAG_OFFSETS"
expect_eq "highest offset: driver exit status" 0 "$DRIVER_RC"
got=$(event "$T/h.out" result .promoted)
other=h-r2
[ "$got" = h-r2 ] && other=h-r1
case $got in
h-r1 | h-r2) pass "highest offset: the priority-0 replica is not promoted ($got is)" ;;
*) fail "highest offset: the priority-0 replica is not promoted" "expected: h-r1 or h-r2" "got: $got" \
    "$(show_driver "$T/h.out")" ;;
esac
if [[ $LAG_OFFSETS == h-z=* ]]; then
    zoff=$(sed -E 's/.*h-z=([0-9]+).*/\1/' <<<"$LAG_OFFSETS")
    goff=$(sed -E "s/.*$got=([0-9]+).*/\\1/" <<<"$LAG_OFFSETS")
    expect_true "the set-up worked: z ($zoff) was ahead of $got ($goff) by more than 16 MiB" \
        test $((zoff - goff)) -gt 16777216
fi
expect_eq "no event names z as candidate" 0 "$(grep -c '"candidate":"h-z"' "$T/h.out")"
expect_role "$got" master
expect_follows "$other" "$got"
expect_follows h-z "$got" # it resyncs from the new primary: the writes only it had are gone, by design
finish
