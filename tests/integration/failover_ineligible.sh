#!/usr/bin/env bash
# failover_ineligible.sh — no replica can be promoted: the driver exits 3 with the reason, and
# nothing changed (nothing recorded, no role event, the replicas still replicas of the dead
# primary's address with their data).
#   A. every replica has priority 0;
#   B. every replica is down (one SIGSTOPped — a hang —, one SIGKILLed);
#   C. one replica has priority 0, the other is down.
#
#   bash tests/integration/failover_ineligible.sh build/tests/failover_driver .
source "$(dirname "$0")/failover_lib.sh"
fo_init "$@"

# cluster PREFIX — PREFIX-p with replicas PREFIX-r1, PREFIX-r2 and 500 keys.
cluster() {
    start_primary "$1-p"
    start_replica "$1-r1" "$1-p"
    start_replica "$1-r2" "$1-p"
    wait_link_up "$1-r1"
    wait_link_up "$1-r2"
    populate "$1-p" 500
    wait_offsets_equal "$1-p" "$1-r1" "$1-r2"
}

# unchanged PREFIX NAME... — the named replicas still follow PREFIX-p's (dead) address and
# still hold the 500 keys.
unchanged() {
    local prefix=$1 n
    shift
    for n in "$@"; do
        expect_eq "$prefix: $n still a replica of the dead primary's address" \
            "slave 127.0.0.1 ${NODE_PORT[$prefix-p]}" \
            "$(field "$prefix-$n" replication role) $(field "$prefix-$n" replication master_host) $(field "$prefix-$n" replication master_port)"
        expect_eq "$prefix: $n kept its data" 500 "$(cli "$prefix-$n" DBSIZE)"
    done
}

# nothing_done PREFIX OUT WHY
nothing_done() {
    expect_eq "$1: driver exit status" 3 "$DRIVER_RC"
    expect_eq "$1: the reason" "no replica can be promoted: $3" "$(event "$2" no_promotion .why)"
    expect_eq "$1: nothing recorded, no role changed, no finish" 0 \
        "$(grep -cE '"event":"(record|role|finish|result)"' "$2")"
    [ "$DRIVER_RC" = 3 ] || fail "$1: driver output" "$(show_driver "$2")"
}

# run PREFIX OUT PRIO1 PRIO2
run() {
    driver_bg "$2" --node "$(node_arg "$1-p" 100)" --node "$(node_arg "$1-r1" "$3")" \
        --node "$(node_arg "$1-r2" "$4")" --primary "$1-p" --interval-ms 100 --threshold 3 \
        --kill-pid "${NODE_PID[$1-p]}" --kill-after-ms 1000 --max-seconds 60
    driver_wait
    reap "$1-p"
}

# A. priority 0 everywhere
cluster a
run a "$T/a.out" 0 0
nothing_done a "$T/a.out" "every reachable replica has priority 0"
unchanged a r1 r2

# B. every replica down: r1 hangs (SIGSTOP), r2 is gone (SIGKILL)
cluster b
kill -STOP "${NODE_PID[b-r1]}"
kill_node b-r2
run b "$T/b.out" 100 100
nothing_done b "$T/b.out" "no reachable replica"
kill -CONT "${NODE_PID[b-r1]}"
unchanged b r1

# C. r1 priority 0, r2 down
cluster c
kill_node c-r2
run c "$T/c.out" 0 100
nothing_done c "$T/c.out" "every reachable replica has priority 0"
unchanged c r1
finish
