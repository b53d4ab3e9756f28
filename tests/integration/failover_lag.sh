#!/usr/bin/env bash
# shellcheck disable=SC2034 # NODES and the PRIO arrays are read by failover_lib.sh (by name)
# failover_lag.sh — a replica far behind (SIGSTOPped while 24 MiB were written, resumed just
# after the primary died) is not promoted under --max-lag-bytes even with the highest priority;
# without the limit priority wins; at equal priority the higher offset wins over the lower name;
# when every promotable replica is too far behind nothing changes (exit 3).
#
#   bash tests/integration/failover_lag.sh build/tests/failover_driver .
source "$(dirname "$0")/failover_lib.sh"
fo_init "$@"

NODES=(a-lag r1 r2)

# 1. --max-lag-bytes 1 MiB: a-lag (priority 300) is 24 MiB behind: r1 or r2 is promoted.
declare -A PRIO1=([a-lag]=300 [r1]=100 [r2]=100)
lag_cluster one a-lag
run_lag_driver one "$T/one.out" PRIO1 --max-lag-bytes 1048576
log "offsets after the kill: $LAG_OFFSETS"
expect_eq "max-lag: driver exit status" 0 "$DRIVER_RC"
got=$(event "$T/one.out" result .promoted)
expect_eq "max-lag: the far-behind replica is not promoted; the lowest name of the two in sync is" one-r1 "$got"
[ "$got" = one-r1 ] || fail "driver output" "$(show_driver "$T/one.out")"
expect_follows one-a-lag one-r1
expect_follows one-r2 one-r1

# 2. the control: no limit, priority 300 wins whatever its offset.
lag_cluster two a-lag
run_lag_driver two "$T/two.out" PRIO1
log "offsets after the kill: $LAG_OFFSETS"
expect_eq "no limit: driver exit status" 0 "$DRIVER_RC"
expect_eq "no limit: the highest priority is promoted although behind" two-a-lag "$(event "$T/two.out" result .promoted)"

# 3. equal priorities: a-lag has the lowest name but the lowest offset: r1 is promoted.
declare -A PRIO3=([a-lag]=100 [r1]=100 [r2]=100)
lag_cluster three a-lag
run_lag_driver three "$T/three.out" PRIO3
log "offsets after the kill: $LAG_OFFSETS"
expect_eq "equal priorities: driver exit status" 0 "$DRIVER_RC"
expect_eq "equal priorities: the highest offset wins over the lowest name" three-r1 "$(event "$T/three.out" result .promoted)"

# 4. every promotable replica too far behind: r1 and r2 stopped (priority 100), a-lag in sync
#    but priority 0: exit 3, nothing recorded, nothing changed.
declare -A PRIO4=([a-lag]=0 [r1]=100 [r2]=100)
lag_cluster four r1 r2
ppport=${NODE_PORT[four-p]}
run_lag_driver four "$T/four.out" PRIO4 --max-lag-bytes 1048576
log "offsets after the kill: $LAG_OFFSETS"
expect_eq "all behind: driver exit status" 3 "$DRIVER_RC"
expect_contains "all behind: the reason" "no replica can be promoted: every promotable replica is more than 1048576 bytes behind" \
    "$(event "$T/four.out" no_promotion .why)"
expect_eq "all behind: nothing recorded" 0 "$(grep -c '"event":"record"' "$T/four.out")"
for n in a-lag r1 r2; do
    expect_eq "all behind: four-$n still a replica of the dead primary" "slave 127.0.0.1 $ppport" \
        "$(field "four-$n" replication role) $(field "four-$n" replication master_host) $(field "four-$n" replication master_port)"
done
finish
