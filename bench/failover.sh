#!/usr/bin/env bash
# bench/failover.sh — how long a write outage a primary's death costs: Gungnir's failover engine
# (tests/integration/failover_driver.c: the same prober, SDOWN counter, selection and promotion
# the controller runs) against Redis Sentinel, on three redis-server processes on loopback.
#
#   bash bench/failover.sh [--trials 10] [--sentinel-trials 5] [--configs "1000x3 100x3"]
#                          [--driver build/tests/failover_driver] [--no-sentinel]
#
# One trial of ours: a primary and two replicas in sync; the driver writes keys acknowledged by
# a replica (WAIT 1), SIGKILLs the primary at a random phase of the probe interval (1 s + a
# uniform 0..interval, so that detection is not aligned with a probe), detects SDOWN after
# `threshold` failed probes, promotes, and reports write_ms: from the SIGKILL to the first
# successful SET on the new primary, and how many acknowledged keys the new primary lacks.
#
# One trial of Sentinel (Debian's redis-sentinel, the same server build): the same three nodes,
# three sentinels on loopback (quorum 2, down-after-milliseconds = interval x threshold,
# failover-timeout 3000, parallel-syncs 2), started and given time to discover each other and the
# replicas; the script SIGKILLs the primary and polls `SENTINEL get-master-addr-by-name` on the
# first sentinel (every 10 ms), then SET on the address it names, until a SET succeeds: that
# time is write_ms. (A client of ours learns the new primary from the Service, whose endpoint
# follows the role label; that step is not in our figure.)
#
# A benchmark, not a test: it prints figures, it fails only when a trial cannot run. Every wait
# is bounded; everything started is killed (by pid) and the temp dir removed on exit.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)

TRIALS=10
S_TRIALS=5
CONFIGS="1000x3 100x3"
DRIVER=$ROOT/build/tests/failover_driver
SENTINEL=1
while [ $# -gt 0 ]; do
    case $1 in
    --trials) TRIALS=$2; shift 2 ;;
    --sentinel-trials) S_TRIALS=$2; shift 2 ;;
    --configs) CONFIGS=$2; shift 2 ;;
    --driver) DRIVER=$2; shift 2 ;;
    --no-sentinel) SENTINEL=0; shift ;;
    *) echo "usage: bash bench/failover.sh [--trials N] [--sentinel-trials N] [--configs \"1000x3 100x3\"] [--driver PATH] [--no-sentinel]" >&2; exit 2 ;;
    esac
done
for tool in redis-server redis-cli jq ss timeout; do
    command -v "$tool" >/dev/null || { echo "bench/failover.sh: $tool is missing" >&2; exit 2; }
done
[ "$SENTINEL" = 0 ] || command -v redis-sentinel >/dev/null || { echo "bench/failover.sh: redis-sentinel is missing (apt-get install redis-sentinel)" >&2; exit 2; }
[ -x "$DRIVER" ] || { echo "bench/failover.sh: $DRIVER is missing (cmake --build build)" >&2; exit 2; }

T=$(mktemp -d /tmp/gungnir-bench-failover.XXXXXX)
PIDS=()
cleanup() {
    local rc=$? pid
    for pid in "${PIDS[@]}"; do
        kill -CONT "$pid" 2>/dev/null
        kill -KILL "$pid" 2>/dev/null
    done
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkfifo "$T/tick"
exec 9<>"$T/tick"
nap() { read -r -t "$1" -u 9 _ 2>/dev/null; } # a sleep without a fork

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

USED=""
free_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] && [[ " $USED " != *" $p "* ]]; then
            USED="$USED $p"
            echo "$p"
            return 0
        fi
    done
    return 1
}

cli() { local port=$1; shift; timeout 5 redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null; }
die() { echo "bench/failover.sh: $*" >&2; exit 1; }

# node DIR PORT ARGS... — starts redis-server, waits for PONG (5 s); sets LAST_PID.
node() {
    local dir=$1 port=$2 i
    shift 2
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no --dir "$dir" \
        --logfile "$dir/redis.log" --repl-diskless-sync-delay 0 "$@" >/dev/null 2>&1 &
    LAST_PID=$!
    disown "$LAST_PID"
    PIDS+=("$LAST_PID")
    for ((i = 0; i < 100; i++)); do
        [ "$(cli "$port" PING)" = PONG ] && return 0
        nap 0.05
    done
    return 1
}

gone() { [ ! -e "/proc/$1" ] || [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]; }

stop_all() {
    local pid i
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for ((i = 0; i < 500; i++)); do gone "$pid" && break; nap 0.01; done
    done
    PIDS=()
}

# three_nodes DIR — primary P_PORT (P_PID), replicas R1_PORT, R2_PORT, in sync.
three_nodes() {
    local dir=$1 i attempt
    for ((attempt = 0; attempt < 3; attempt++)); do
        P_PORT=$(free_port) && R1_PORT=$(free_port) && R2_PORT=$(free_port) || die "no free port"
        node "$dir/p" "$P_PORT" || continue
        P_PID=$LAST_PID
        node "$dir/r1" "$R1_PORT" --replicaof 127.0.0.1 "$P_PORT" || continue
        node "$dir/r2" "$R2_PORT" --replicaof 127.0.0.1 "$P_PORT" || continue
        for ((i = 0; i < 300; i++)); do
            [ "$(cli "$R1_PORT" INFO replication | grep -c 'master_link_status:up')$(cli "$R2_PORT" INFO replication | grep -c 'master_link_status:up')" = 11 ] && return 0
            nap 0.1
        done
    done
    die "could not start three nodes in sync"
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) { print "-"; exit } if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2 + 0.5) }'; }
maxof() { sort -n | tail -1; }

SUMMARY=()

# ---- ours --------------------------------------------------------------------------------
ours() {
    local interval=$1 threshold=$2 det=$(($1 * $2)) trial out res w d lost acked lost_total=0 ws=() ds=()
    echo "== Gungnir failover engine: probe every $interval ms, threshold $threshold (detection $det ms), $TRIALS trials"
    for ((trial = 1; trial <= TRIALS; trial++)); do
        three_nodes "$T/o$interval-$trial"
        out=$T/o$interval-$trial/driver.out
        local kill_after=$((1000 + RANDOM % interval))
        timeout 120 "$DRIVER" --node "p=127.0.0.1:$P_PORT:100" --node "r1=127.0.0.1:$R1_PORT:100" \
            --node "r2=127.0.0.1:$R2_PORT:100" --primary p --interval-ms "$interval" --threshold "$threshold" \
            --timeout-ms 250 --kill-pid "$P_PID" --kill-after-ms "$kill_after" --writes --max-seconds 60 >"$out" 2>&1 ||
            die "trial $trial: the driver failed: $(tail -3 "$out")"
        res=$(grep '"event":"result"' "$out")
        w=$(jq -r .write_ms <<<"$res")
        d=$(jq -r .detection_ms <<<"$res")
        lost=$(jq -r .lost <<<"$res")
        acked=$(jq -r .acked <<<"$res")
        ws+=("$w")
        ds+=("$d")
        lost_total=$((lost_total + lost))
        printf '  trial %2d: write_ms %5s  detection_ms %5s  promoted %s  acked %6s  lost %s\n' \
            "$trial" "$w" "$d" "$(jq -r .promoted <<<"$res")" "$acked" "$lost"
        stop_all
    done
    local med mx dmed
    med=$(printf '%s\n' "${ws[@]}" | median)
    mx=$(printf '%s\n' "${ws[@]}" | maxof)
    dmed=$(printf '%s\n' "${ds[@]}" | median)
    printf '  median write_ms %s (detection %s ms: %+d above), max %s (%+d above); median detection_ms %s; acknowledged writes lost in total: %s\n' \
        "$med" "$det" $((med - det)) "$mx" $((mx - det)) "$dmed" "$lost_total"
    SUMMARY+=("$(printf '| Gungnir | %s ms x %s | %s | %s | %s | %+d | %+d | %s |' "$interval" "$threshold" "$det" "$TRIALS" \
        "$med / $mx" $((med - det)) $((mx - det)) "$lost_total")")
}

# ---- Sentinel ----------------------------------------------------------------------------
sentinel_trial() {
    local det=$1 dir=$2 i s port ports=() addr new t0 t1 line
    three_nodes "$dir"
    for s in 1 2 3; do
        port=$(free_port) || die "no free port"
        ports+=("$port")
        mkdir -p "$dir/s$s"
        cat >"$dir/s$s/sentinel.conf" <<EOF
port $port
bind 127.0.0.1
daemonize no
dir $dir/s$s
logfile $dir/s$s/sentinel.log
sentinel monitor m 127.0.0.1 $P_PORT 2
sentinel down-after-milliseconds m $det
sentinel failover-timeout m 3000
sentinel parallel-syncs m 2
EOF
        redis-sentinel "$dir/s$s/sentinel.conf" >/dev/null 2>&1 &
        PIDS+=("$!")
        disown "$!"
    done
    # every sentinel knows the two others and the two replicas (30 s at most)
    for ((i = 0; i < 300; i++)); do
        local ready=0
        for port in "${ports[@]}"; do
            line=$(cli "$port" SENTINEL master m | tr '\n' ' ')
            [[ $line == *"num-slaves 2 "* && $line == *"num-other-sentinels 2 "* ]] && ready=$((ready + 1))
        done
        [ "$ready" = 3 ] && break
        nap 0.1
    done
    [ "$ready" = 3 ] || die "the sentinels did not discover each other and the replicas in 30 s"
    nap 1 # settle: sentinels ping and exchange hellos at their steady pace
    kill -KILL "$P_PID"
    t0=$(now_ms)
    for ((i = 0; i < 6000; i++)); do
        addr=$(cli "${ports[0]}" SENTINEL get-master-addr-by-name m | tr '\n' ' ')
        new=$(awk '{ print $2 }' <<<"$addr")
        if [ -n "$new" ] && [ "$new" != "$P_PORT" ] && [ "$(cli "$new" SET bench-write 1)" = OK ]; then
            t1=$(now_ms)
            break
        fi
        nap 0.01
    done
    [ -n "${t1:-}" ] || die "Sentinel did not fail over within 60 s (logs: $dir/s1/sentinel.log)"
    S_WRITE=$((t1 - t0))
    S_NEW=$new
    stop_all
}

sentinel() {
    local det=$1 trial ws=()
    echo "== Redis Sentinel $(redis-sentinel --version | awk '{ print $3 }' | sed 's/v=//'): down-after-milliseconds $det, quorum 2 of 3, $S_TRIALS trials"
    for ((trial = 1; trial <= S_TRIALS; trial++)); do
        sentinel_trial "$det" "$T/s$det-$trial"
        ws+=("$S_WRITE")
        printf '  trial %2d: write_ms %5s  new master port %s\n' "$trial" "$S_WRITE" "$S_NEW"
    done
    local med mx
    med=$(printf '%s\n' "${ws[@]}" | median)
    mx=$(printf '%s\n' "${ws[@]}" | maxof)
    printf '  median write_ms %s (down-after %s ms: %+d above), max %s (%+d above)\n' "$med" "$det" $((med - det)) \
        "$mx" $((mx - det))
    SUMMARY+=("$(printf '| Sentinel | down-after %s ms | %s | %s | %s | %+d | %+d | — |' "$det" "$det" "$S_TRIALS" \
        "$med / $mx" $((med - det)) $((mx - det)))")
}

START=$SECONDS
echo "bench/failover.sh on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(redis-server --version | awk '{ print $1, $2, $3 }')"
for c in $CONFIGS; do
    ours "${c%x*}" "${c#*x}"
    if [ "$SENTINEL" = 1 ]; then
        sentinel $((${c%x*} * ${c#*x}))
    fi
done
echo
echo "| engine | detection config | detection ms | trials | write_ms median / max | median above detection | max above detection | acked writes lost |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${SUMMARY[@]}"
echo "(took $((SECONDS - START)) s; load average at the end $(cut -d' ' -f1-3 /proc/loadavg))"
